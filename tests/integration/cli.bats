#!/usr/bin/env bats
# The command line itself: help, version, dispatch, exit codes.

load helpers

@test "cli: --version prints the version" {
    run_cbuild --version
    assert "$output" =~ "^cbuild version [0-9]+\.[0-9]+\.[0-9]+$"
    run_cbuild version
    assert "$output" =~ "^cbuild version "
}

@test "cli: --help lists the commands" {
    run_cbuild --help
    assert "$output" =~ "build "
    assert "$output" =~ "parse "
    assert "$output" =~ "debug-expand "
}

@test "cli: help COMMAND prints that command's usage" {
    run_cbuild help build
    assert "$output" =~ "usage: cbuild build"
    assert "$output" =~ "--build-arg"
    run_cbuild help parse
    assert "$output" =~ "usage: cbuild parse --dump FILE"
}

@test "cli: help for an unknown command is a usage error" {
    run_cbuild 2 help frobnicate
    assert "$stderr" =~ "unknown command 'frobnicate'"
}

@test "cli: an unknown command word is a usage error, not a build" {
    run_cbuild 2 frobnicate
    assert "$stderr" == "cbuild: error: unknown command 'frobnicate' (see 'cbuild --help')"
}

@test "cli: no arguments prints help and fails" {
    run_cbuild 2
    assert "$output" =~ "usage: cbuild"
}

@test "cli: a bad --log-level is rejected" {
    run_cbuild 2 --log-level loud --version
    assert "$stderr" =~ "unknown log level 'loud'"
}

@test "cli: build is the default verb" {
    ctx=$(fixture hello)
    run_cbuild --plan -t app:1 "$ctx"
    assert "$output" =~ "tag: app:1"
}
