#!/usr/bin/env bats
# cbuild parse --dump: the parse tree, and parse errors that name the file
# and line.

load helpers

dockerfile() {
    printf "$@" >"$TESTDIR/Dockerfile"
}

@test "parse: dumps every instruction in BuildKit's format" {
    dockerfile 'FROM busybox AS base\nRUN echo hi\nCOPY --chown=1:1 a b /dst/\nCMD ["sh", "-c", "x"]\n'
    run_cbuild parse --dump "$TESTDIR/Dockerfile"
    assert "$output" == '(from "busybox" "AS" "base")
(run "echo hi")
(copy ["--chown=1:1"] "a" "b" "/dst/")
(cmd "sh" "-c" "x")'
}

@test "parse: heredoc bodies are consumed, not parsed as instructions" {
    dockerfile 'FROM scratch\nRUN <<EOF\nFROB this is body text\nEOF\nCOPY <<A <<B /dest/\na\nA\nb\nB\n'
    run_cbuild parse --dump "$TESTDIR/Dockerfile"
    assert "$output" == '(from "scratch")
(run "<<EOF")
(copy "<<A" "<<B" "/dest/")'
}

@test "parse: an unterminated heredoc names file and line" {
    dockerfile 'FROM scratch\n\nRUN <<EOF\necho hi\n'
    run_cbuild 2 parse --dump "$TESTDIR/Dockerfile"
    assert "$stderr" == "cbuild: error: $TESTDIR/Dockerfile:3: unterminated heredoc 'EOF'"
}

@test "parse: a JSON array with a non-string element names file and line" {
    dockerfile 'FROM scratch\nCMD ["a", 1]\n'
    run_cbuild 2 parse --dump "$TESTDIR/Dockerfile"
    assert "$stderr" =~ "Dockerfile:2: JSON array must contain only strings"
}

@test "parse: ENV without a value names file and line" {
    dockerfile 'FROM scratch\n# comment\nENV PATH\n'
    run_cbuild 2 parse --dump "$TESTDIR/Dockerfile"
    assert "$stderr" =~ "Dockerfile:3: ENV must have two arguments"
}

@test "parse: an empty file has no instructions" {
    : >"$TESTDIR/Dockerfile"
    run_cbuild 2 parse --dump "$TESTDIR/Dockerfile"
    assert "$stderr" =~ "file with no instructions"
}

@test "parse: a repeated directive is an error" {
    dockerfile '# escape=`\n# escape=\\\\\nFROM scratch\n'
    run_cbuild 2 parse --dump "$TESTDIR/Dockerfile"
    assert "$stderr" =~ "Dockerfile:2: only one escape parser directive can be used"
}

@test "parse: a bad escape directive is an error" {
    dockerfile '# escape=x\nFROM scratch\n'
    run_cbuild 2 parse --dump "$TESTDIR/Dockerfile"
    assert "$stderr" =~ "Dockerfile:1: invalid escape token 'x'"
}

@test "parse: CRLF line endings parse like LF" {
    dockerfile 'FROM scratch\r\nRUN a \\\r\n  b\r\n'
    run_cbuild parse --dump "$TESTDIR/Dockerfile"
    assert "$output" == '(from "scratch")
(run "a   b")'
}

@test "parse: a line of 64 KiB is refused" {
    { printf 'FROM scratch\nRUN '; head -c 70000 /dev/zero | tr '\0' x; printf '\n'; } >"$TESTDIR/Dockerfile"
    run_cbuild 1 parse --dump "$TESTDIR/Dockerfile"
    assert "$stderr" =~ "Dockerfile:2: line too long"
}

@test "parse: a missing file is a clear error" {
    run_cbuild 1 parse --dump "$TESTDIR/nope"
    assert "$stderr" =~ "cannot open '$TESTDIR/nope': No such file or directory"
}

@test "parse: unknown instructions are accepted by the parse stage" {
    dockerfile 'FROM scratch\nFROB x y\n'
    run_cbuild parse --dump "$TESTDIR/Dockerfile"
    assert "$output" == '(from "scratch")
(frob "")'
}
