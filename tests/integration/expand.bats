#!/usr/bin/env bats
# cbuild debug-expand: the word expansion contract the corpora rely on.

load helpers

@test "expand: variables, defaults and quotes" {
    run_cbuild debug-expand --env A=1 --env B= -- '${A}-${B:-dflt}-"$A"-'"'"'$A'"'"
    assert "$output" == '1-dflt-1-$A'
}

@test "expand: words mode splits expansions but not quotes" {
    run_cbuild debug-expand --words --env X='a b' -- '$X "c d" e\ f'
    assert "$output" == 'a
b
c d
e f'
}

@test "expand: the environment is only what --env gives" {
    HOME=/should/not/leak run_cbuild debug-expand -- '[$HOME]'
    assert "$output" == '[]'
}

@test "expand: an unset variable with :? fails with the message" {
    run_cbuild 2 debug-expand -- '${X:?is required}'
    assert "$stderr" =~ "is required"
}

@test "expand: the backtick escape character" {
    run_cbuild debug-expand --escape '`' --env A=x -- '`$A$A'
    assert "$output" == '$Ax'
}

@test "expand: input after -- may start with a dash" {
    run_cbuild debug-expand -- '--flag'
    assert "$output" == '--flag'
}
