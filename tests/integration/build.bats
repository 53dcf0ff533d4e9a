#!/usr/bin/env bats
# cbuild build --plan: the Dockerfile and its .dockerignore parsed and
# checked, the stages planned and printed, nothing built; and the errors
# a Dockerfile can have before anything runs.

load helpers

@test "build: --plan prints the stages and builds nothing" {
    ctx=$(fixture hello)
    run_cbuild build --plan -t app:1 "$ctx"
    assert "$output" =~ "dockerfile: $ctx/Dockerfile"
    assert "$output" =~ "stage 0: FROM busybox"
    assert "$output" =~ "Dockerfile:2  COPY hello.txt /hello.txt"
    [ ! -e "$CBUILD_ROOT" ] || [ -z "$(ls -A "$CBUILD_ROOT")" ]
}

@test "build: an unknown instruction names file and line" {
    ctx=$(fixture empty)
    printf 'FROM scratch\nFROB x\n' >"$ctx/Dockerfile"
    run_cbuild 2 build "$ctx"
    assert "$stderr" == "cbuild: error: $ctx/Dockerfile:2: unknown instruction 'FROB'"
}

@test "build: an unknown flag names file, line and instruction" {
    ctx=$(fixture empty)
    printf 'FROM scratch\n\nCOPY --frob=1 a /b\n' >"$ctx/Dockerfile"
    run_cbuild 2 build "$ctx"
    assert "$stderr" == "cbuild: error: $ctx/Dockerfile:3: COPY: unknown flag '--frob'"
}

@test "build: a bad --mount option names file and line" {
    ctx=$(fixture empty)
    printf 'FROM scratch\nRUN --mount=type=cache,sharing=sometimes,target=/c true\n' >"$ctx/Dockerfile"
    run_cbuild 2 build "$ctx"
    assert "$stderr" =~ "Dockerfile:2: RUN: --mount=type=cache,sharing=sometimes,target=/c: unsupported sharing value 'sometimes'"
}

@test "build: --target prunes stages the target does not need" {
    ctx=$(fixture empty)
    printf 'FROM busybox AS a\nRUN a\nFROM busybox AS b\nRUN b\nFROM a AS c\nCOPY --from=b /x /x\nFROM busybox AS d\n' >"$ctx/Dockerfile"
    run_cbuild build --plan --target c "$ctx"
    assert "$output" =~ "4 stages, 3 needed for target stage 2 \(c\)"
    assert "$output" =~ "stage 3 d: FROM busybox \[skipped"
    assert "$output" =~ "stage 2 c: FROM a \(stage\)"
}

@test "build: an unknown --target is a usage error" {
    ctx=$(fixture hello)
    run_cbuild 2 build --target nope "$ctx"
    assert "$stderr" =~ "target stage 'nope' could not be found"
}

@test "build: global ARGs and --build-arg expand FROM" {
    ctx=$(fixture empty)
    printf 'ARG BASE=busybox\nARG TAG=1.36\nFROM ${BASE}:${TAG}\n' >"$ctx/Dockerfile"
    run_cbuild build --plan "$ctx"
    assert "$output" =~ "stage 0: FROM busybox:1.36"
    run_cbuild build --plan --build-arg TAG=latest "$ctx"
    assert "$output" =~ "stage 0: FROM busybox:latest"
}

@test "build: only ARG may come before the first FROM" {
    ctx=$(fixture empty)
    printf 'ENV A=b\nFROM scratch\n' >"$ctx/Dockerfile"
    run_cbuild 2 build "$ctx"
    assert "$stderr" =~ "Dockerfile:1: ENV: no build stage in current context"
}

@test "build: -f reads another Dockerfile, and - reads stdin" {
    ctx=$(fixture hello)
    printf 'FROM alpine\n' >"$TESTDIR/Other.Dockerfile"
    run_cbuild build --plan -f "$TESTDIR/Other.Dockerfile" "$ctx"
    assert "$output" =~ "stage 0: FROM alpine"
    set +e
    out=$(printf 'FROM debian\n' | "$CBUILD" build --plan -f - "$ctx" 2>/dev/null)
    set -e
    assert "$out" =~ "stage 0: FROM debian"
}

@test "build: .dockerignore is read and a bad pattern names the file" {
    ctx=$(fixture hello)
    printf '# comment\n*.tmp\n!keep.tmp\n' >"$ctx/.dockerignore"
    run_cbuild build --plan "$ctx"
    assert "$output" =~ "dockerignore: $ctx/.dockerignore \(2 patterns\)"
    printf 'a[\n' >"$ctx/.dockerignore"
    run_cbuild 2 build "$ctx"
    assert "$stderr" =~ "$ctx/.dockerignore: "
    assert "$stderr" =~ "a\["
}

@test "build: Dockerfile.dockerignore beside the Dockerfile wins" {
    ctx=$(fixture hello)
    printf 'a\n' >"$ctx/.dockerignore"
    printf 'b\nc\nd\n' >"$ctx/Dockerfile.dockerignore"
    run_cbuild build --plan "$ctx"
    assert "$output" =~ "Dockerfile.dockerignore \(3 patterns\)"
}

@test "build: a Dockerfile that is a symlink out of the context is not followed out" {
    ctx=$(fixture empty)
    mkdir -p "$TESTDIR/outside"
    printf 'FROM outside\n' >"$TESTDIR/outside/Dockerfile"
    ln -s "$TESTDIR/outside/Dockerfile" "$ctx/Dockerfile"
    run_cbuild 1 build "$ctx"
    assert "$stderr" =~ "No such file or directory"
    assert "$output" != "*FROM outside*"
}

@test "build: a missing context is a clear error" {
    run_cbuild 1 build "$TESTDIR/nope"
    assert "$stderr" =~ "cannot open build context '$TESTDIR/nope'"
}

@test "build: the plan shows instructions expanded in their stage's scope" {
    ctx=$(fixture empty)
    printf 'ARG V=1\nFROM busybox\nARG V\nARG W=${V}-w\nENV A=a B=$W\nENV A=b C=$A$B\nWORKDIR /app/$C\nRUN echo $V\nLABEL k="$V v"\n' >"$ctx/Dockerfile"
    run_cbuild build --plan --build-arg V=9 "$ctx"
    assert "$output" =~ "=> ARG W=9-w"
    # The values of one ENV see the variables from before it.
    assert "$output" =~ "=> ENV A=b C=a9-w"
    assert "$output" =~ "=> WORKDIR /app/a9-w"
    assert "$output" =~ "=> LABEL k=9 v"
    # RUN is left to the shell.
    [[ $output != *"=> RUN"* ]]
}

@test "build: a global ARG is only visible in a stage after ARG NAME" {
    ctx=$(fixture empty)
    printf 'ARG G=global\nFROM busybox\nWORKDIR /a/$G\nARG G\nWORKDIR /b/$G\n' >"$ctx/Dockerfile"
    run_cbuild build --plan "$ctx"
    assert "$output" =~ "=> WORKDIR /a/"$'\n'
    assert "$output" =~ "=> WORKDIR /b/global"
}

@test "build: an expansion error names file and line" {
    ctx=$(fixture empty)
    printf 'FROM busybox\n\nWORKDIR ${DIR:?is required}\n' >"$ctx/Dockerfile"
    run_cbuild 2 build "$ctx"
    assert "$stderr" =~ "Dockerfile:3: WORKDIR: "
    assert "$stderr" =~ "is required"
}
