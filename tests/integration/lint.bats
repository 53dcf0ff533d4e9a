#!/usr/bin/env bats
# cbuild lint and build --lint: the rules through the real binary, the
# three output formats, exit codes, the ways to silence a rule, and a run
# over the conformance corpus that must not crash.

load helpers

# A context with the Dockerfile printf'd from the arguments.
lint_ctx() {
    CTX=$TESTDIR/ctx
    mkdir -p "$CTX"
    printf "$@" >"$CTX/Dockerfile"
}

# A Dockerfile with findings of every severity: a secret (error), sudo
# (warning), no HEALTHCHECK (info).
MIXED='FROM alpine:3.19\nENV DB_PASSWORD=hunter2\nRUN sudo true\nUSER app\n'

@test "lint: --list shows every rule with id, name, severity and doc" {
    run_cbuild lint --list
    [ "$(line_count "$output")" -eq 21 ]
    assert "$(echo "$output" | head -1)" =~ "^CB001  root-user +warning +the final stage runs as root"
    assert "$output" =~ "CB005  secret-in-arg-env +error "
    assert "$output" =~ "CB018  no-healthcheck +info "
    # ids are unique and in order
    assert "$(echo "$output" | awk '{print $1}' | paste -sd' ')" == \
        "$(seq -f 'CB%03g' 1 21 | paste -sd' ')"
}

@test "lint: text output is FILE:LINE  RULE  severity  message; an error finding exits 1" {
    lint_ctx "$MIXED"
    touch "$CTX/.dockerignore"
    run_cbuild 1 lint "$CTX"
    assert "$(line_count "$output")" == 3
    assert "$(echo "$output" | sed -n 1p)" =~ "^$CTX/Dockerfile:1  CB018  info  no HEALTHCHECK"
    assert "$(echo "$output" | sed -n 2p)" == \
        "$CTX/Dockerfile:2  CB005  error  ENV DB_PASSWORD looks like a secret: build args and ENV are kept in the image's history and config; use RUN --mount=type=secret"
    assert "$(echo "$output" | sed -n 3p)" =~ "^$CTX/Dockerfile:3  CB012  warning  sudo in RUN"
    # the value of the secret is not printed anywhere
    [[ $output$stderr != *hunter2* ]]
}

@test "lint: warnings and infos alone exit 0; a clean Dockerfile prints nothing" {
    lint_ctx 'FROM alpine:3.19\nRUN sudo true\n'
    run_cbuild 0 lint "$CTX"
    assert "$output" =~ "CB012  warning"
    lint_ctx 'FROM alpine:3.19\nCOPY app /app\nUSER app\nHEALTHCHECK CMD ["/app", "-check"]\nENTRYPOINT ["/app"]\n'
    run_cbuild 0 lint "$CTX"
    assert "$output" == ""
}

@test "lint: the current directory and -f FILE" {
    lint_ctx 'FROM alpine:3.19\nRUN sudo true\n'
    cd "$CTX"
    run_cbuild lint
    assert "$(echo "$output" | grep CB012)" =~ "^\./Dockerfile:2  CB012  warning"
    printf 'FROM alpine:3.19\nEXPOSE 22\n' >"$TESTDIR/other.Dockerfile"
    run_cbuild lint -f "$TESTDIR/other.Dockerfile" "$CTX"
    assert "$output" =~ "$TESTDIR/other.Dockerfile:2  CB013  warning  EXPOSE 22"
}

@test "lint: -f - reads the Dockerfile from stdin" {
    lint_ctx ''
    run bash -c "printf 'FROM alpine:3.19\nMAINTAINER me\n' | '$CBUILD' lint -f - '$CTX'"
    [ "$status" -eq 0 ]
    assert "$output" =~ "<stdin>:2  CB016  warning  MAINTAINER is deprecated"
}

@test "lint: --ignore by id or name; an unknown rule is a usage error" {
    lint_ctx "$MIXED"
    run_cbuild 0 lint --ignore CB005 --ignore no-healthcheck --ignore copy-context-without-dockerignore "$CTX"
    assert "$output" =~ "CB012"
    [[ $output != *CB005* && $output != *CB018* ]]
    run_cbuild 2 lint --ignore CB999 "$CTX"
    assert "$stderr" =~ "--ignore: unknown rule 'CB999'"
}

@test "lint: an inline comment silences the instruction below it only" {
    lint_ctx 'FROM alpine:3.19\n# cbuild-lint ignore=secret-in-arg-env -- a test fixture\nENV DB_PASSWORD=x\nENV API_TOKEN=y\nUSER app\n'
    run_cbuild 1 lint --ignore no-healthcheck "$CTX"
    [[ $output != *":3  CB005"* ]]
    assert "$output" =~ ":4  CB005  error  ENV API_TOKEN"
    lint_ctx 'FROM alpine:3.19\n# cbuild-lint ignore=CB005,CB999\nENV DB_PASSWORD=x\nUSER app\n'
    run_cbuild 0 lint --ignore no-healthcheck "$CTX"
    assert "$output" == "$CTX/Dockerfile:2  CB021  warning  unknown rule 'CB999' in a cbuild-lint comment"
}

@test "lint: COPY . . is reported only without a .dockerignore" {
    lint_ctx 'FROM alpine:3.19\nCOPY . .\nUSER app\nHEALTHCHECK NONE\n'
    run_cbuild lint "$CTX"
    assert "$output" =~ ":2  CB020  info  COPY of the whole context with no .dockerignore"
    echo .git >"$CTX/.dockerignore"
    run_cbuild lint "$CTX"
    assert "$output" == ""
}

@test "lint: --format json is valid JSON with the findings and counts" {
    lint_ctx "$MIXED"
    run_cbuild 1 lint --format json "$CTX"
    python3 -m json.tool <<<"$output" >/dev/null
    assert "$(json_out '[d["errors"], d["warnings"], d["infos"]]')" == "[1, 1, 1]"
    assert "$(json_out 'd["file"]')" == "$CTX/Dockerfile"
    assert "$(json_out '[(f["line"], f["rule"], f["severity"]) for f in d["findings"]]')" == \
        '[[1, "CB018", "info"], [2, "CB005", "error"], [3, "CB012", "warning"]]'
    assert "$(json_out 'd["findings"][1]["name"]')" == "secret-in-arg-env"
}

@test "lint: --format sarif is a SARIF 2.1.0 log with rules and located results" {
    lint_ctx "$MIXED"
    touch "$CTX/.dockerignore"
    run_cbuild 1 lint --format sarif "$CTX"
    python3 -m json.tool <<<"$output" >/dev/null
    assert "$(json_out 'd["version"]')" == "2.1.0"
    assert "$(json_out 'd["$schema"]')" =~ "sarif-schema-2.1.0.json$"
    assert "$(json_out 'd["runs"][0]["tool"]["driver"]["name"]')" == "cbuild"
    assert "$(json_out 'len(d["runs"][0]["tool"]["driver"]["rules"])')" == "21"
    assert "$(json_out '[(r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in d["runs"][0]["results"]]')" == \
        '[["CB018", "note", 1], ["CB005", "error", 2], ["CB012", "warning", 3]]'
    # every result points at its rule and has a message (the schema's
    # required fields)
    assert "$(json_out 'all(d["runs"][0]["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"] and r["message"]["text"] for r in d["runs"][0]["results"])')" == "true"
    assert "$(json_out 'd["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]')" == "$CTX/Dockerfile"
}

@test "lint: usage and parse errors exit 2 and name the problem" {
    lint_ctx 'FROM alpine:3.19\nFROB x\n'
    run_cbuild 2 lint "$CTX"
    assert "$stderr" == "cbuild: error: $CTX/Dockerfile:2: unknown instruction 'FROB'"
    run_cbuild 2 lint --format yaml "$CTX"
    assert "$stderr" =~ "--format is text, json or sarif, not 'yaml'"
    run_cbuild 2 lint "$CTX" "$CTX"
    assert "$stderr" =~ "expected at most one CONTEXT"
    lint_ctx 'FROM alpine:3.19\n'
    run_cbuild 2 lint --target nope "$CTX"
    assert "$stderr" =~ "target stage 'nope' not found"
}

# --- build --lint ---

@test "build: --lint=error refuses an error-severity finding before anything is built" {
    cbuild_root_setup
    lint_ctx 'FROM scratch\nCOPY f /f\nVOLUME /var/run/docker.sock\n'
    echo hi >"$CTX/f"
    run_cbuild 1 build --lint=error -t lintapp:1 "$CTX"
    assert "$stderr" =~ "cbuild: warning: $CTX/Dockerfile:3  CB015  error  VOLUME /var/run/docker.sock"
    [[ $stderr == *"cbuild: error: $CTX/Dockerfile: 1 error-severity lint finding (--lint=error): not building" ]]
    [ -z "$output" ]
    run_cbuild images
    [[ $output != *lintapp* ]]
}

@test "build: --lint=warn prints the findings and builds; off (the default) is silent" {
    cbuild_root_setup
    lint_ctx 'FROM scratch\n# cbuild-lint ignore=CB020\nCOPY . /ctx\nVOLUME /etc\n'
    echo hi >"$CTX/f"
    run_cbuild 0 build --lint=warn -q -t lintapp:1 "$CTX"
    assert "$stderr" =~ "Dockerfile:4  CB015  error  VOLUME /etc"
    assert "$stderr" =~ "Dockerfile:1  CB001  warning  no USER"
    [[ $stderr != *CB020* ]]
    [[ $output =~ ^[0-9a-f]{64}$ ]]
    run_cbuild 0 build -q -t lintapp:2 "$CTX"
    [[ $stderr != *CB0* ]]
    run_cbuild 2 build --lint=loud "$CTX"
    assert "$stderr" =~ "--lint is off, warn or error, not 'loud'"
}

@test "build: --lint=error passes a Dockerfile without error findings" {
    cbuild_root_setup
    lint_ctx 'FROM scratch\nCOPY f /f\nUSER 1000\n'
    echo hi >"$CTX/f"
    run_cbuild 0 build --lint=error -q "$CTX"
    assert "$stderr" =~ "CB018  info"
    [[ $output =~ ^[0-9a-f]{64}$ ]]
}

# --- the conformance corpus ---

@test "lint: every Dockerfile of the BuildKit parser corpus lints or fails cleanly" {
    dir=${CB_CONFORMANCE_DIR:-$CB_SRCDIR/../shared/conformance}
    [ -d "$dir/buildkit-parser" ] || skip "no conformance corpus at $dir"
    n=0
    while IFS= read -r -d '' f; do
        set +e
        timeout 30 "$CBUILD" lint -f "$f" --format sarif "$TESTDIR" \
            >"$TESTDIR/out" 2>"$TESTDIR/err"
        rc=$?
        set -e
        if [ "$rc" -gt 2 ] || grep -q -e 'Sanitizer' -e 'runtime error' "$TESTDIR/err"; then
            echo "$f: exit $rc" >&2
            cat "$TESTDIR/err" >&2
            return 1
        fi
        # exit 2 is a parse error with one line naming the file; else the
        # report is valid JSON
        if [ "$rc" -eq 2 ]; then
            grep -q "^cbuild: error: $f" "$TESTDIR/err"
        else
            python3 -m json.tool "$TESTDIR/out" >/dev/null
        fi
        n=$((n + 1))
    done < <(find "$dir/buildkit-parser" "$dir/buildkit-parser-negative" -type f -name 'Dockerfile*' -print0)
    [ "$n" -ge 20 ]
}
