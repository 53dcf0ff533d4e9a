#!/usr/bin/env bats
# The Dockerfile corpus (tests/corpus/builds): one test per case, each
# built on the locally made busybox base and checked against expect.json
# by tests/tools/check_build.py; then the build behaviours that need more
# than one build (the cache, failures, output flags).

load helpers

CASES=$CB_SRCDIR/tests/corpus/builds
CHECK=$CB_SRCDIR/tests/tools/check_build.py
DEFAULT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# One store and one base import for the whole file: base:1 carries the
# PATH a Docker base image would.
setup_file() {
    export CBUILD_ROOT=$BATS_FILE_TMPDIR/store
    TESTDIR=$BATS_FILE_TMPDIR
    import_base base:1 -c "ENV PATH=$DEFAULT_PATH"
}

# Layers unpacked in the store hold files of subordinate ids: remove them
# from inside the user namespace.
teardown_file() {
    "$CBUILD" unshare rm -rf "$BATS_FILE_TMPDIR/store" || true
}

setup() {
    helpers_setup
    export CBUILD_ROOT=$BATS_FILE_TMPDIR/store
}

# build_case NAME: build and check one corpus case.
build_case() {
    local reason
    reason=$(json_get "$CASES/$1/expect.json" 'd.get("skip", "")')
    [ -z "$reason" ] || skip "$reason"
    python3 "$CHECK" --work "$TESTDIR" "$CASES/$1"
}

@test "corpus: every case has its test here" {
    local c missing=
    for c in "$CASES"/*/; do
        c=$(basename "$c")
        grep -q "^@test \"corpus: $c\" " "$BATS_TEST_FILENAME" || missing+=" $c"
    done
    assert "$missing" == ""
}

@test "corpus: add_local_tar" { build_case add_local_tar; }
@test "corpus: add_url" { build_case add_url; }
@test "corpus: add_url_bad_checksum" { build_case add_url_bad_checksum; }
@test "corpus: arg_build_arg" { build_case arg_build_arg; }
@test "corpus: arg_env_override" { build_case arg_env_override; }
@test "corpus: arg_global_scope" { build_case arg_global_scope; }
@test "corpus: arg_platform" { build_case arg_platform; }
@test "corpus: arg_stage_scope" { build_case arg_stage_scope; }
@test "corpus: cmd_forms" { build_case cmd_forms; }
@test "corpus: cmd_shell_form" { build_case cmd_shell_form; }
@test "corpus: copy_chmod_octal" { build_case copy_chmod_octal; }
@test "corpus: copy_chmod_symbolic" { build_case copy_chmod_symbolic; }
@test "corpus: copy_chown" { build_case copy_chown; }
@test "corpus: copy_chown_unknown" { build_case copy_chown_unknown; }
@test "corpus: copy_dest_rules" { build_case copy_dest_rules; }
@test "corpus: copy_dir_contents" { build_case copy_dir_contents; }
@test "corpus: copy_exclude" { build_case copy_exclude; }
@test "corpus: copy_from_image" { build_case copy_from_image; }
@test "corpus: copy_from_stage" { build_case copy_from_stage; }
@test "corpus: copy_heredoc" { build_case copy_heredoc; }
@test "corpus: copy_link" { build_case copy_link; }
@test "corpus: copy_parents" { build_case copy_parents; }
@test "corpus: copy_symlinks" { build_case copy_symlinks; }
@test "corpus: copy_wildcards" { build_case copy_wildcards; }
@test "corpus: dockerignore" { build_case dockerignore; }
@test "corpus: entrypoint_resets_cmd" { build_case entrypoint_resets_cmd; }
@test "corpus: entrypoint_shell" { build_case entrypoint_shell; }
@test "corpus: entrypoint_with_cmd" { build_case entrypoint_with_cmd; }
@test "corpus: env_forms" { build_case env_forms; }
@test "corpus: expose" { build_case expose; }
@test "corpus: from_platform_host" { build_case from_platform_host; }
@test "corpus: from_platform_other" { build_case from_platform_other; }
@test "corpus: from_scratch" { build_case from_scratch; }
@test "corpus: from_stage_as" { build_case from_stage_as; }
@test "corpus: from_store" { build_case from_store; }
@test "corpus: from_target" { build_case from_target; }
@test "corpus: healthcheck" { build_case healthcheck; }
@test "corpus: healthcheck_exec" { build_case healthcheck_exec; }
@test "corpus: healthcheck_none" { build_case healthcheck_none; }
@test "corpus: label" { build_case label; }
@test "corpus: maintainer" { build_case maintainer; }
@test "corpus: multistage_chain" { build_case multistage_chain; }
@test "corpus: onbuild" { build_case onbuild; }
@test "corpus: onbuild_record" { build_case onbuild_record; }
@test "corpus: run_fails" { build_case run_fails; }
@test "corpus: run_forms" { build_case run_forms; }
@test "corpus: run_heredoc" { build_case run_heredoc; }
@test "corpus: run_layer_runtime_files" { build_case run_layer_runtime_files; }
@test "corpus: run_mount_bind" { build_case run_mount_bind; }
@test "corpus: run_mount_bind_dockerignore" { build_case run_mount_bind_dockerignore; }
@test "corpus: run_mount_cache" { build_case run_mount_cache; }
@test "corpus: run_mount_secret" { build_case run_mount_secret; }
@test "corpus: run_mount_tmpfs" { build_case run_mount_tmpfs; }
@test "corpus: run_network_none" { build_case run_network_none; }
@test "corpus: run_opaque" { build_case run_opaque; }
@test "corpus: run_whiteout" { build_case run_whiteout; }
@test "corpus: shell" { build_case shell; }
@test "corpus: stopsignal" { build_case stopsignal; }
@test "corpus: user_name" { build_case user_name; }
@test "corpus: user_uid_gid" { build_case user_uid_gid; }
@test "corpus: volume" { build_case volume; }
@test "corpus: workdir" { build_case workdir; }

# --- builds that need more than one run -------------------------------

# The IDs of the images in the store, one a line, sorted.
image_ids() {
    "$CBUILD" images -q --no-trunc | sort -u
}

@test "build: a failing RUN shows its last lines and Dockerfile:LINE, and commits nothing" {
    ctx=$(fixture empty)
    printf 'FROM base:1\nRUN echo fine > /fine\n\nRUN for i in $(seq 1 40); do echo "out-$i"; done; echo to-stderr >&2; exit 3\nRUN echo never\n' >"$ctx/Dockerfile"
    before=$(image_ids)
    run_cbuild 1 build -t failing:1 "$ctx"
    assert "$stderr" =~ "Dockerfile:4"
    assert "$stderr" =~ "out-40"
    assert "$stderr" =~ "out-39"
    assert "$stderr" =~ "to-stderr"
    assert "$stderr" =~ "exit code 3"
    [[ $stderr != *never* ]]
    run_cbuild 2 inspect failing:1
    assert "$stderr" =~ "not found"
    assert "$(image_ids)" == "$before"
}

@test "build: the same build twice is fully cached and gives the same image ID" {
    ctx=$(fixture empty)
    printf 'FROM base:1\nARG V=1\nCOPY a.txt /a.txt\nRUN echo $V > /v\nENV E=1\nCOPY <<EOF /h\nheredoc\nEOF\n' >"$ctx/Dockerfile"
    echo a >"$ctx/a.txt"
    run_cbuild build -q "$ctx"
    first=$output
    run_cbuild build --progress json "$ctx"
    assert "$output" == "$first"
    # Every step that can miss reports a hit, and none misses.
    hits=$(grep -c '"event":"cache","hit":true' <<<"$stderr")
    assert "$hits" == 3
    [[ $stderr != *'"hit":false'* ]]
    run_cbuild build --progress plain "$ctx"
    assert "$stderr" =~ "3 of 3 cacheable steps cached"
}

@test "build: --no-cache with SOURCE_DATE_EPOCH gives the same manifest digest" {
    ctx=$(fixture empty)
    printf 'FROM base:1\nCOPY a.txt /a.txt\nRUN echo run > /r && mkdir -p /d/e\nLABEL l=1\n' >"$ctx/Dockerfile"
    echo a >"$ctx/a.txt"
    SOURCE_DATE_EPOCH=1700000000 run_cbuild build -q -t repro:1 "$ctx"
    first=$(json_get <("$CBUILD" inspect repro:1) 'd[0]["Digest"]')
    SOURCE_DATE_EPOCH=1700000000 run_cbuild build -q --no-cache -t repro:2 "$ctx"
    second=$(json_get <("$CBUILD" inspect repro:2) 'd[0]["Digest"]')
    assert "$second" == "$first"
    created=$(json_get <("$CBUILD" inspect repro:2) 'd[0]["Config"]["created"]')
    assert "$created" == "2023-11-14T22:13:20Z"
}

@test "build: an mtime-only change in the context is still cached" {
    ctx=$(fixture empty)
    printf 'FROM base:1\nCOPY . /ctx/\nRUN ls /ctx > /listing\n' >"$ctx/Dockerfile"
    echo a >"$ctx/a.txt"
    run_cbuild build -q "$ctx"
    first=$output
    touch -d @1234567 "$ctx/a.txt" "$ctx/Dockerfile"
    run_cbuild build --progress plain "$ctx"
    assert "$stderr" =~ "2 of 2 cacheable steps cached"
    [[ $stderr != *"cache miss"* ]]
    assert "$output" == "$first"
}

@test "build: a content change misses and names the changed source" {
    ctx=$(fixture empty)
    printf 'FROM base:1\nCOPY a.txt b.txt /d/\nRUN cat /d/b.txt > /b\n' >"$ctx/Dockerfile"
    echo a >"$ctx/a.txt"
    echo b >"$ctx/b.txt"
    run_cbuild build -q "$ctx"
    echo changed >"$ctx/b.txt"
    run_cbuild build --progress plain -t changed:1 "$ctx"
    assert "$stderr" =~ "cache miss: source 'b.txt' changed"
    run_cbuild export changed:1 -o "$TESTDIR/flat"
    assert "$(cat "$TESTDIR/flat/b")" == "changed"
}

@test "build: a rebuilt stage that makes the same file leaves the stages that copy it cached" {
    ctx=$(fixture empty)
    printf 'FROM base:1 AS b\nCOPY a.txt /a.txt\nRUN mkdir /out && echo fixed > /out/f\nFROM base:1\nRUN echo independent > /i\nCOPY --from=b /out/f /f\nRUN cat /f > /g\n' >"$ctx/Dockerfile"
    echo one >"$ctx/a.txt"
    run_cbuild build -q "$ctx"
    id=$output
    echo two >"$ctx/a.txt"
    run_cbuild build --progress plain "$ctx"
    assert "$stderr" =~ "#2 cache miss: source 'a.txt' changed"
    assert "$stderr" =~ "#3 cache miss: an earlier step changed"
    # The final stage shares its base with stage b but not its misses;
    # COPY --from keys on the file's content, which did not change.
    assert "$stderr" =~ "#5 CACHED"
    assert "$stderr" =~ "#6 CACHED"
    assert "$stderr" =~ "#7 CACHED"
    assert "$(tail -n 1 <<<"$output")" == "$id"
}

@test "build: a changed --build-arg misses where it is used, naming it" {
    ctx=$(fixture empty)
    printf 'FROM base:1\nARG V=1\nCOPY a.txt /a.txt\nRUN echo $V > /v\nARG OWNER=0\nCOPY --chown=$OWNER a.txt /owned.txt\n' >"$ctx/Dockerfile"
    echo a >"$ctx/a.txt"
    run_cbuild build -q "$ctx"
    run_cbuild build --progress plain --build-arg V=2 "$ctx"
    # The COPY before the first use stays cached (Dockerfile reference,
    # "Impact on build caching").
    assert "$stderr" =~ "#3 CACHED"
    assert "$stderr" =~ "#4 cache miss: build arg 'V' changed"
    run_cbuild build --progress plain --build-arg V=2 --build-arg OWNER=1000 -t owned:1 "$ctx"
    assert "$stderr" =~ "#4 CACHED"
    assert "$stderr" =~ "#6 cache miss"
    run_cbuild export owned:1 -o "$TESTDIR/flat.tar"
    tar -tvf "$TESTDIR/flat.tar" --numeric-owner owned.txt >"$TESTDIR/listing"
    assert "$(cat "$TESTDIR/listing")" =~ " 1000/1000 "
}

@test "build: a cache mount keeps its content from one build to the next" {
    ctx=$(fixture empty)
    printf 'FROM base:1\nRUN --mount=type=cache,target=/c,id=bats-persist echo kept > /c/f\n' >"$ctx/Dockerfile"
    run_cbuild build -q "$ctx"
    printf 'FROM base:1\nRUN --mount=type=cache,target=/other,id=bats-persist cat /other/f > /seen\n' >"$ctx/Dockerfile"
    run_cbuild build -q -t persisted:1 "$ctx"
    run_cbuild export persisted:1 -o "$TESTDIR/flat"
    assert "$(cat "$TESTDIR/flat/seen")" == "kept"
    [ ! -e "$TESTDIR/flat/c/f" ]
}

@test "build: --iidfile gets the image ID, and -q prints only the ID" {
    ctx=$(fixture empty)
    printf 'FROM base:1\nLABEL iid=1\n' >"$ctx/Dockerfile"
    run_cbuild build -q --iidfile "$TESTDIR/iid" -t iid:1 "$ctx"
    assert "$output" =~ ^[0-9a-f]{64}$
    assert "$(line_count "$output")" == 1
    assert "$(cat "$TESTDIR/iid")" == "sha256:$output"
    id=$(json_get <("$CBUILD" inspect iid:1) 'd[0]["Id"]')
    assert "$id" == "$output"
}

# A range newuidmap refuses makes entering the user namespace fail: a
# build that still succeeds did not enter it.
refuse_namespace() {
    echo "$(id -un):3000000000:10" >"$TESTDIR/subuid"
    export CBUILD_SUBUID_FILE=$TESTDIR/subuid
}

@test "build: a rebuild that is all cache hits needs no user namespace" {
    [ "$(id -u)" -ne 0 ] || skip "newuidmap lets root map any range"
    ctx=$(fixture empty)
    printf 'FROM base:1\nCOPY a.txt /a.txt\nRUN echo ran > /r\nENV E=1\n' >"$ctx/Dockerfile"
    echo a >"$ctx/a.txt"
    run_cbuild build -q -t probe:1 "$ctx"
    first=$output
    refuse_namespace
    run_cbuild build --progress plain --iidfile "$TESTDIR/iid" -t probe:2 "$ctx"
    assert "$output" == "$first"
    assert "$stderr" =~ "2 of 2 cacheable steps cached"
    assert "$(cat "$TESTDIR/iid")" == "sha256:$first"
    run_cbuild inspect probe:2
    assert "$(json_out 'd[0]["Id"]')" == "$first"
    # A step that must run needs the namespace: that build fails.
    echo b >"$ctx/a.txt"
    run_cbuild 1 build -q "$ctx"
    assert "$stderr" =~ "newuidmap"
    # So does every build with CBUILD_NO_PROBE, cached or not.
    echo a >"$ctx/a.txt"
    CBUILD_NO_PROBE=1 run_cbuild 1 build -q "$ctx"
    assert "$stderr" =~ "newuidmap"
}

@test "build: a try outside the namespace that meets work prints nothing of its own" {
    ctx=$(fixture empty)
    printf 'FROM base:1\nCOPY a.txt /a.txt\nRUN cat /a.txt > /r\n' >"$ctx/Dockerfile"
    echo a >"$ctx/a.txt"
    run_cbuild build -q "$ctx"
    printf 'FROM base:1\nCOPY a.txt /a.txt\nRUN cat /a.txt > /r\nRUN echo more >> /r\n' >"$ctx/Dockerfile"
    run_cbuild build --progress plain -t tried:1 "$ctx"
    # Each step once, the new one missing for its own reason.
    assert "$(grep -c '^#1 \[1/4\] FROM base:1$' <<<"$stderr")" == 1
    assert "$(grep -c '^#2 CACHED$' <<<"$stderr")" == 1
    assert "$(grep -c '^#3 CACHED$' <<<"$stderr")" == 1
    assert "$stderr" =~ "#4 cache miss: not built before"
    assert "$stderr" =~ "2 of 3 cacheable steps cached"
    run_cbuild export -o "$TESTDIR/flat" tried:1
    assert "$(cat "$TESTDIR/flat/r")" == "a
more"
}

@test "examples: cbuild -t hello:1 examples/hello, the README's main command, builds and runs" {
    import_base localhost/busybox:latest -c 'CMD ["/bin/sh"]' -c "ENV PATH=$DEFAULT_PATH"
    cd "$CB_SRCDIR"
    run_cbuild -t hello:1 examples/hello
    id=$output
    assert "$id" =~ ^[0-9a-f]{64}$
    run_cbuild run hello:1
    assert "$output" == "Hello, world!"
    run_cbuild run hello:1 Alice Bob
    assert "$output" == "Hello, Alice!"$'\n'"Hello, Bob!"
    run_cbuild inspect hello:1
    assert "$(json_out 'd[0]["Config"]["config"]["User"]')" == "1000:1000"
    assert "$(json_out 'd[0]["Config"]["config"]["Entrypoint"]')" == '["/usr/local/bin/hello"]'
    # Again: every step from the cache, the same image.
    run_cbuild -t hello:1 --progress plain examples/hello
    assert "$output" == "$id"
    assert "$stderr" =~ "5 of 5 cacheable steps cached"
}
