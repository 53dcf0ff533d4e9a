#!/usr/bin/env bats
# The rootless model through the real binary: `cbuild unshare` and
# `cbuild doctor`.  CI runs this as the unprivileged user cbuild-test
# (with /etc/subuid and /etc/subgid ranges); as root it checks root's
# identity mapping instead.

load helpers

# The first subuid (or subgid) range of the caller, as "START COUNT", or
# nothing.  FILE is /etc/subuid or /etc/subgid.
first_range() {
    local file=$1 name uid
    name=$(id -un)
    uid=$(id -u)
    [ -r "$file" ] || return 0
    awk -F: -v n="$name" -v u="$uid" \
        '($1 == n || $1 == u) && $2 ~ /^[0-9]+$/ && $3 ~ /^[1-9][0-9]*$/ { print $2, $3; exit }' "$file"
}

# skip_unless_range: skip unless the caller has subuid and subgid ranges
# and the helpers are there; sets START, COUNT, GSTART.
skip_unless_range() {
    local r g
    r=$(first_range /etc/subuid)
    g=$(first_range /etc/subgid)
    [ -n "$r" ] || skip "no /etc/subuid range for $(id -un)"
    [ -n "$g" ] || skip "no /etc/subgid range for $(id -un)"
    skip_unless_cmd newuidmap newgidmap
    START=${r% *}
    COUNT=${r#* }
    GSTART=${g% *}
}

skip_if_no_userns() {
    unshare --user true 2>/dev/null || skip "user namespaces are not available here"
}

setup() {
    TESTDIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/cbuild-bats.XXXXXX")
    skip_if_no_userns
    unset CBUILD_IN_USERNS CBUILD_SUBUID_FILE CBUILD_SUBGID_FILE
}

@test "unshare: the caller is uid 0 and gid 0 inside" {
    run_cbuild unshare id -u
    assert "$output" == "0"
    run_cbuild unshare id -g
    assert "$output" == "0"
}

@test "unshare: options after the command belong to the command" {
    run_cbuild unshare ls -d -- /
    assert "$output" == "/"
}

@test "unshare: uid_map and gid_map map 0 to the caller and 1.. to the range" {
    skip_unless_range
    run_cbuild unshare cat /proc/self/uid_map
    assert "$(echo "$output" | awk '{print $1, $2, $3}' | paste -sd/)" == \
        "0 $(id -u) 1/1 $START $COUNT"
    run_cbuild unshare cat /proc/self/gid_map
    assert "$(echo "$output" | awk 'NR == 1 {print $1, $2, $3}')" == "0 $(id -g) 1"
    assert "$(echo "$output" | awk 'NR == 2 {print $1, $2}')" == "1 $GSTART"
    assert "$stderr" == ""
}

@test "unshare: a file chowned to 1234 inside is owned by START+1233 on the host" {
    skip_unless_range
    [ "$COUNT" -ge 1234 ] || skip "the range has fewer than 1234 ids"
    mkdir "$TESTDIR/own"
    run_cbuild unshare sh -c "cd '$TESTDIR/own' && touch f && chown 1234:1234 f && stat -c '%u %g' f"
    assert "$output" == "1234 1234"
    assert "$(stat -c %u "$TESTDIR/own/f")" == "$((START + 1233))"
    assert "$(stat -c %g "$TESTDIR/own/f")" == "$((GSTART + 1233))"
    # Files the caller creates inside stay the caller's on the host.
    run_cbuild unshare touch "$TESTDIR/own/g"
    assert "$(stat -c %u "$TESTDIR/own/g")" == "$(id -u)"
}

@test "unshare: without a range, a single mapping and a warning" {
    [ "$(id -u)" -ne 0 ] || skip "root without a range maps the whole id space (tested below)"
    : >"$TESTDIR/empty"
    export CBUILD_SUBUID_FILE=$TESTDIR/empty CBUILD_SUBGID_FILE=$TESTDIR/empty
    run_cbuild unshare cat /proc/self/uid_map
    assert "$(echo "$output" | awk '{print $1, $2, $3}')" == "0 $(id -u) 1"
    assert "$stderr" =~ "single id mapping; ownership other than root is recorded, not applied"
    run_cbuild unshare cat /proc/self/setgroups
    assert "$output" == "deny"
    # Only uid 0 exists inside: chown to anything else is refused.
    run_cbuild 1 unshare sh -c "cd '$TESTDIR' && touch f && chown 1234 f"
    assert "$stderr" =~ "chown"
}

@test "run: id is 0 inside, and a file of uid 1234 in the image is owned by START+1233 on the host" {
    skip_if_root "checks the caller's subordinate range"
    skip_unless_range
    [ "$COUNT" -ge 1234 ] || skip "the range has fewer than 1234 ids"
    cbuild_root_setup
    import_base
    ctx=$(fixture empty)
    echo data >"$ctx/f"
    printf 'FROM base:1\nCOPY --chown=1234:1234 f /owned\n' >"$ctx/Dockerfile"
    run_cbuild build -q -t owned:1 "$ctx"
    run_cbuild run owned:1 id -u
    assert "$output" == "0"
    run_cbuild run owned:1 stat -c '%u %g' /owned
    assert "$output" == "1234 1234"
    # The unpacked layer in the store, seen from the host.
    f=$(find "$CBUILD_ROOT/unpacked" -name owned)
    assert "$(stat -c '%u %g' "$f")" == "$((START + 1233)) $((GSTART + 1233))"
}

@test "run: without a range, the single mapping works and says what it cannot do" {
    skip_if_root "root maps every id onto itself"
    cbuild_root_setup
    import_base
    : >"$TESTDIR/empty-subid"
    export CBUILD_SUBUID_FILE=$TESTDIR/empty-subid CBUILD_SUBGID_FILE=$TESTDIR/empty-subid
    run_cbuild run base:1 id -u
    assert "$output" == "0"
    assert "$stderr" =~ "single id mapping; ownership other than root is recorded, not applied"
    # Root's files are there; a non-root USER cannot be switched to.
    run_cbuild run base:1 cat /etc/passwd
    run_cbuild 1 run -u 1234 base:1 true
    assert "$stderr" =~ "not mapped in the user namespace"
}

@test "unshare: root without a range maps the whole id space onto itself" {
    [ "$(id -u)" -eq 0 ] || skip "only root may map ids it does not own"
    : >"$TESTDIR/empty"
    export CBUILD_SUBUID_FILE=$TESTDIR/empty CBUILD_SUBGID_FILE=$TESTDIR/empty
    run_cbuild unshare cat /proc/self/uid_map
    assert "$(echo "$output" | awk '{print $1, $2, $3}')" == "0 0 4294967295"
    assert "$stderr" == ""
    run_cbuild unshare sh -c "cd '$TESTDIR' && touch f && chown 1234 f"
    assert "$(stat -c %u "$TESTDIR/f")" == "1234"
}

@test "unshare: a range the helper refuses is an error naming newuidmap" {
    [ "$(id -u)" -ne 0 ] || skip "newuidmap lets root map any range"
    skip_unless_cmd newuidmap
    echo "$(id -un):3000000000:10" >"$TESTDIR/subuid"
    export CBUILD_SUBUID_FILE=$TESTDIR/subuid
    run_cbuild 1 unshare id -u
    assert "$stderr" =~ "cbuild: error: user namespace: newuidmap: exit [0-9]+: "
}

@test "unshare: the command's exit status is forwarded" {
    run_cbuild 7 unshare sh -c 'exit 7'
    run_cbuild 0 unshare true
    run_cbuild 1 unshare false
}

@test "unshare: a command killed by signal N gives 128+N" {
    run_cbuild 137 unshare sh -c 'kill -KILL $$'
    run_cbuild 143 unshare sh -c 'kill -TERM $$'
}

@test "unshare: SIGTERM to cbuild reaches the command" {
    local start=$SECONDS
    run timeout --preserve-status -s TERM 1 "$CBUILD" unshare sleep 30
    [ "$status" -eq 143 ]
    [ $((SECONDS - start)) -lt 20 ]
}

@test "unshare: the command does not outlive a killed cbuild" {
    "$CBUILD" unshare sh -c "echo \$\$ >'$TESTDIR/pid'; exec sleep 300" >/dev/null 2>&1 3>&- &
    local outer=$! i inner
    for i in $(seq 50); do [ -s "$TESTDIR/pid" ] && break; sleep 0.1; done
    inner=$(cat "$TESTDIR/pid")
    kill -0 "$inner"
    kill -KILL "$outer"
    wait "$outer" || true
    for i in $(seq 50); do kill -0 "$inner" 2>/dev/null || break; sleep 0.1; done
    ! kill -0 "$inner" 2>/dev/null
}

@test "unshare: global options before the command word are kept" {
    : >"$TESTDIR/empty"
    export CBUILD_SUBUID_FILE=$TESTDIR/empty CBUILD_SUBGID_FILE=$TESTDIR/empty
    run_cbuild --log-level error unshare id -u
    assert "$output" == "0"
    assert "$stderr" == ""
}

@test "unshare: a command that does not exist gives 127" {
    run_cbuild 127 unshare /nonexistent/cmd
    assert "$stderr" =~ "cannot run '/nonexistent/cmd'"
}

@test "unshare: stdin and stdout are the caller's" {
    run bash -c "echo hello | '$CBUILD' unshare cat"
    [ "$status" -eq 0 ]
    assert "$output" == "hello"
}

@test "unshare: without a command it runs \$SHELL" {
    run bash -c "echo 'id -u; exit 3' | SHELL=/bin/sh '$CBUILD' unshare"
    [ "$status" -eq 3 ]
    assert "$output" == "0"
}

@test "unshare: inside cbuild's namespace it does not nest another" {
    run_cbuild unshare sh -c "cat /proc/self/uid_map; '$CBUILD' unshare cat /proc/self/uid_map"
    local n
    n=$(line_count "$output")
    [ $((n % 2)) -eq 0 ]
    assert "$(echo "$output" | head -n $((n / 2)))" == "$(echo "$output" | tail -n $((n / 2)))"
}

@test "unshare: the namespace is entered by a fork that carries on, without an exec" {
    run_cbuild --log-level debug unshare sh -c 'id -u; echo "$CBUILD_IN_USERNS"'
    assert "$output" == "$(printf '0\n1')"
    assert "$stderr" =~ "user namespace: entered without exec"
    ! grep -q 'entering by exec' <<<"$stderr"
    # The status, the id maps and a nested call are as with the exec.
    run_cbuild 3 --log-level debug unshare sh -c "cat /proc/self/uid_map >'$TESTDIR/fork'; exit 3"
    CBUILD_USERNS_EXEC=1 run_cbuild unshare cat /proc/self/uid_map
    assert "$output" == "$(cat "$TESTDIR/fork")"
}

@test "unshare: CBUILD_USERNS_EXEC=1 re-executes cbuild in the namespace, and it works" {
    CBUILD_USERNS_EXEC=1 run_cbuild --log-level debug unshare sh -c 'id -u; echo "$CBUILD_IN_USERNS"'
    assert "$output" == "$(printf '0\n1')"
    assert "$stderr" =~ "user namespace: entering by exec \(CBUILD_USERNS_EXEC=1\)"
    ! grep -q 'entered without exec' <<<"$stderr"
    CBUILD_USERNS_EXEC=1 run_cbuild 3 unshare sh -c 'exit 3'
    CBUILD_USERNS_EXEC=1 run_cbuild unshare sh -c "cat /proc/self/uid_map; '$CBUILD' unshare cat /proc/self/uid_map"
    local n
    n=$(line_count "$output")
    assert "$(echo "$output" | head -n $((n / 2)))" == "$(echo "$output" | tail -n $((n / 2)))"
}

@test "unshare: root inside a user namespace maps the ids it has onto themselves" {
    run_cbuild unshare sh -c "cat /proc/self/uid_map; echo --; env -u CBUILD_IN_USERNS '$CBUILD' unshare cat /proc/self/uid_map"
    local outer inner
    outer=$(echo "$output" | sed '/^--$/,$d' | awk '{print $1, $1, $3}')
    inner=$(echo "$output" | sed '1,/^--$/d' | awk '{print $1, $2, $3}')
    assert "$inner" == "$outer"
}

@test "unshare: an unknown option is a usage error" {
    run_cbuild 2 unshare --frob
    assert "$stderr" =~ "unknown option '--frob'"
}

DOCTOR_CHECKS=("user namespaces" "subuid range" "subgid range" "newuidmap"
    "newgidmap" "id mapping" "overlay (userxattr)" "openat2" "seccomp"
    "cgroup v2")

@test "doctor: one yes/no line per facility, then the mode, exit 0" {
    run_cbuild doctor --root "$TESTDIR/store"
    local c
    for c in "${DOCTOR_CHECKS[@]}"; do
        printf '%s\n' "$output" |
            grep -qE "^$(printf '%s' "$c" | sed 's/[()]/\\&/g') +(yes|no): ." ||
            { echo "no yes/no line for '$c'" >&2; return 1; }
    done
    assert "$(line_count "$output")" == "$(( ${#DOCTOR_CHECKS[@]} + 1 ))"
    assert "$(echo "$output" | tail -n 1)" =~ "^cbuild will use +userns: .*; storage driver: (overlay|vfs)"
    assert "$output" =~ $'user namespaces +yes: created one'
    assert "$output" =~ $'id mapping +yes: '
}

@test "doctor: the overlay check runs beside the store and cleans up" {
    run_cbuild doctor --root "$TESTDIR/store"
    assert "$output" =~ "overlay \(userxattr\) +(yes|no): .*\(in $TESTDIR\)"
    assert "$(ls -A "$TESTDIR" | grep -c cbuild-doctor)" == "0"
    [ ! -e "$TESTDIR/store" ]
}

@test "doctor: names the caller's subuid and subgid ranges and the helpers" {
    skip_unless_range
    run_cbuild doctor
    assert "$output" =~ "subuid range +yes: $START:$COUNT in /etc/subuid"
    assert "$output" =~ "subgid range +yes: $GSTART:[0-9]+ in /etc/subgid"
    assert "$output" =~ "newuidmap +yes: /[^ ]*newuidmap \((setuid root|file capabilities)\)"
    assert "$output" =~ "cbuild will use +userns: subuid range $START:$COUNT via newuidmap"
}

@test "doctor: without a range it says so and uses a single mapping" {
    [ "$(id -u)" -ne 0 ] || skip "root without a range maps the whole id space"
    : >"$TESTDIR/empty"
    export CBUILD_SUBUID_FILE=$TESTDIR/empty CBUILD_SUBGID_FILE=$TESTDIR/empty
    run_cbuild doctor
    assert "$output" =~ "subuid range +no: no line for uid $(id -u) in $TESTDIR/empty"
    assert "$output" =~ "cbuild will use +userns: single mapping \(no range\)"
}

@test "doctor: a mapping the helper refuses is reported, not fatal" {
    [ "$(id -u)" -ne 0 ] || skip "newuidmap lets root map any range"
    skip_unless_cmd newuidmap
    echo "$(id -un):3000000000:10" >"$TESTDIR/subuid"
    export CBUILD_SUBUID_FILE=$TESTDIR/subuid
    run_cbuild doctor --root "$TESTDIR/store"
    assert "$output" =~ "id mapping +no: newuidmap: exit [0-9]+: "
    assert "$output" =~ "storage driver: vfs \(overlay does not work in a user namespace here: newuidmap: exit"
}

@test "doctor --format json: every check with name, ok and detail" {
    run_cbuild doctor --format json --root "$TESTDIR/store"
    echo "$output" >"$TESTDIR/d.json"
    assert "$(json_get "$TESTDIR/d.json" '"|".join(c["name"] for c in d["checks"])')" == \
        "$(IFS='|'; echo "${DOCTOR_CHECKS[*]}")"
    assert "$(json_get "$TESTDIR/d.json" 'all(isinstance(c["ok"], bool) and c["detail"] for c in d["checks"])')" == "True"
    assert "$(json_get "$TESTDIR/d.json" 'd["storage_driver"]')" =~ "^(overlay|vfs)$"
    assert "$(json_get "$TESTDIR/d.json" 'd["userns"] is not None')" == "True"
}

@test "doctor: an unknown format is a usage error" {
    run_cbuild 2 doctor --format yaml
    assert "$stderr" =~ "unknown format 'yaml'"
}
