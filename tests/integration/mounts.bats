#!/usr/bin/env bats
# RUN --mount, through `cbuild run --mount` and `--secret`: bind, cache,
# tmpfs and secret mounts in the rootless sandbox.  Bind sources are below
# the current directory (here a context dir made per test).

load helpers

setup() {
    helpers_setup
    unshare --user true 2>/dev/null || skip "user namespaces are not available here"
    unset CBUILD_IN_USERNS CBUILD_SUBUID_FILE CBUILD_SUBGID_FILE
    cbuild_root_setup
    import_base
    CTX=$TESTDIR/ctx
    mkdir -p "$CTX/sub"
    echo hello >"$CTX/sub/f"
    echo top >"$CTX/t"
    cd "$CTX"
}

# The names below the current directory, sorted, on one line.
listing() {
    ls -A "$@" | LC_ALL=C sort | paste -sd' '
}

@test "mounts: a bind is read-only unless rw: a write fails with EROFS" {
    run_cbuild run --mount type=bind,source=sub,target=/x base:1 cat /x/f
    assert "$output" == "hello"
    run_cbuild 1 run --mount type=bind,source=sub,target=/x base:1 \
        sh -c 'echo new >/x/f'
    assert "$stderr" =~ "Read-only file system"
    run_cbuild 1 run --mount type=bind,source=t,target=/etc/t base:1 \
        sh -c 'cat /etc/t && echo new >/etc/t'
    assert "$output" == "top"
    assert "$stderr" =~ "Read-only file system"
    assert "$(cat sub/f)" == "hello"
    assert "$(cat t)" == "top"
}

@test "mounts: writes to a rw bind are seen inside and thrown away" {
    run_cbuild run --mount type=bind,source=sub,target=/x,rw base:1 \
        sh -c 'echo changed >/x/f && echo more >/x/g && rm -f /x/nothing && cat /x/f /x/g'
    assert "$output" == "changed"$'\n'"more"
    run_cbuild run --mount type=bind,source=t,target=/etc/t,readwrite base:1 \
        sh -c 'echo changed >/etc/t && cat /etc/t'
    assert "$output" == "changed"
    # The sources are as they were, and the throwaway copies are gone.
    assert "$(cat sub/f)" == "hello"
    assert "$(listing sub)" == "f"
    assert "$(cat t)" == "top"
    assert "$(ls -A "$CBUILD_ROOT/run")" == ""
}

@test "mounts: a bind source of ../.. or a symlink to / cannot reach outside the current directory" {
    echo outside >"$TESTDIR/outside"
    ln -s / root
    ln -s ../../.. up
    want=$(listing .)
    for src in ../.. root up sub/../../.. root/sub/..; do
        run_cbuild run --mount "type=bind,source=$src,target=/x" base:1 ls -A /x
        assert "$(printf '%s\n' "$output" | LC_ALL=C sort | paste -sd' ')" == "$want"
    done
    run_cbuild 1 run --mount type=bind,source=../outside,target=/x base:1 true
    assert "$stderr" =~ "source"
    run_cbuild 1 run --mount type=bind,source=root/etc/passwd,target=/x base:1 true
    assert "$stderr" =~ "source"
}

@test "mounts: a bind source that is missing, or a special file, is an error" {
    run_cbuild 1 run --mount type=bind,source=missing,target=/x base:1 true
    assert "$stderr" =~ "--mount=type=bind,target=/x: source: open 'missing'"
    mkfifo fifo
    run_cbuild 2 run --mount type=bind,source=fifo,target=/x base:1 true
    assert "$stderr" =~ "'fifo' is not a directory or a regular file"
}

@test "mounts: a cache persists between runs, in the store under the sha256 of its id" {
    run_cbuild run --mount type=cache,target=/c base:1 sh -c 'ls -A /c; echo one >/c/f'
    assert "$output" == ""
    run_cbuild run --mount type=cache,target=/c base:1 cat /c/f
    assert "$output" == "one"
    hex=$(printf %s /c | sha256sum | cut -d' ' -f1)
    assert "$(cat "$CBUILD_ROOT/cache/mounts/$hex/f")" == "one"
    # The id names the cache, whatever the target.
    run_cbuild run --mount type=cache,id=shared-id,target=/a base:1 sh -c 'echo two >/a/f'
    run_cbuild run --mount type=cache,id=shared-id,target=/b/c base:1 cat /b/c/f
    assert "$output" == "two"
    hex=$(printf %s shared-id | sha256sum | cut -d' ' -f1)
    [ -d "$CBUILD_ROOT/cache/mounts/$hex" ]
    # mode, uid and gid apply when the cache is made.
    run_cbuild run --mount type=cache,id=m,target=/m,mode=0700 base:1 stat -c %a /m
    assert "$output" == "700"
    run_cbuild 1 run --mount type=cache,target=/c,ro base:1 sh -c 'cat /c/f; echo x >/c/g'
    assert "$output" == "one"
    assert "$stderr" =~ "Read-only file system"
}

# A command for concurrent cache runs: fail (exit 3) when another run's
# marker is in the cache while this one's is there.
marker_script() {
    local me=$1
    printf '%s' "for m in /c/marker-*; do [ -e \"\$m\" ] && { echo \"overlap \$m\"; exit 3; }; done
touch /c/marker-$me; sleep 2
for m in /c/marker-*; do [ \"\$m\" = /c/marker-$me ] || { echo \"overlap \$m\"; exit 3; }; done
rm /c/marker-$me"
}

# run_two SHARING: two cbuild runs with the cache at once; sets rc_a, rc_b
# and out_a, out_b.
run_two() {
    local sharing=$1
    timeout 60 "$CBUILD" run --mount "type=cache,id=lk,target=/c,sharing=$sharing" \
        base:1 sh -c "$(marker_script a)" >"$TESTDIR/a.out" 2>&1 3>&- &
    local pa=$!
    timeout 60 "$CBUILD" run --mount "type=cache,id=lk,target=/c,sharing=$sharing" \
        base:1 sh -c "$(marker_script b)" >"$TESTDIR/b.out" 2>&1 3>&- &
    local pb=$!
    rc_a=0 rc_b=0
    wait "$pa" || rc_a=$?
    wait "$pb" || rc_b=$?
    out_a=$(cat "$TESTDIR/a.out")
    out_b=$(cat "$TESTDIR/b.out")
    echo "a ($rc_a): $out_a" >&2
    echo "b ($rc_b): $out_b" >&2
}

@test "mounts: a cache with sharing=locked is never entered by two runs at once" {
    local start=$SECONDS
    run_two locked
    assert "$rc_a $rc_b" == "0 0"
    # Each run holds it for 2s: one waited for the other.
    [ $((SECONDS - start)) -ge 4 ]
    hex=$(printf %s lk | sha256sum | cut -d' ' -f1)
    assert "$(ls -A "$CBUILD_ROOT/cache/mounts/$hex")" == ""
}

@test "mounts: the same script sees the other run in a shared cache (the check works)" {
    run_two shared
    [ "$rc_a" = 3 ] || [ "$rc_b" = 3 ]
}

@test "mounts: a private cache in use gives a concurrent run a fresh instance" {
    run_two private
    assert "$rc_a $rc_b" == "0 0"
    # The runs overlapped, each in a cache of its own; the throwaway one
    # is gone.
    run_cbuild run --mount type=cache,id=lk,target=/c,sharing=private \
        base:1 sh -c 'echo kept >/c/k'
    timeout 60 "$CBUILD" run --mount type=cache,id=lk,target=/c,sharing=private \
        base:1 sh -c 'sleep 2; ls -A /c' >"$TESTDIR/a.out" 2>&1 3>&- &
    local pa=$!
    sleep 1
    run_cbuild run --mount type=cache,id=lk,target=/c,sharing=private \
        base:1 sh -c 'ls -A /c; echo fresh >/c/fresh'
    wait "$pa"
    # One of them had the persistent cache (with k), the other an empty one.
    assert "$output $(cat "$TESTDIR/a.out")" =~ "^ k$|^k $"
    hex=$(printf %s lk | sha256sum | cut -d' ' -f1)
    assert "$(listing "$CBUILD_ROOT/cache/mounts/$hex")" =~ "^k( fresh)?$"
    assert "$(ls -A "$CBUILD_ROOT/run")" == ""
}

@test "mounts: a tmpfs is empty, writable, of the size asked, and gone after" {
    run_cbuild run --mount type=tmpfs,target=/t,size=1m base:1 \
        sh -c 'ls -A /t; echo x >/t/a && cat /t/a && df -k /t | tail -1'
    assert "$output" =~ ^x$'\n'"tmpfs +1024 "
    run_cbuild run --mount type=tmpfs,target=/tmp base:1 ls -A /tmp
    assert "$output" == ""
    run_cbuild 1 run base:1 ls /t
}

@test "mounts: a target through a symlink in the image resolves inside the image" {
    # An image with /link -> /tmp and /esc -> ../../.. (which must stop at
    # the image's root).
    python3 - "$(busybox_tar)" "$TESTDIR/links.tar" <<'PY'
import shutil, sys, tarfile
shutil.copy(sys.argv[1], sys.argv[2])
with tarfile.open(sys.argv[2], 'a') as t:
    for name, target in (('link', '/tmp'), ('esc', '../../..')):
        i = tarfile.TarInfo(name)
        i.type = tarfile.SYMTYPE
        i.linkname = target
        t.addfile(i)
PY
    SOURCE_DATE_EPOCH=0 run_cbuild import "$TESTDIR/links.tar" links:1
    run_cbuild run --mount type=tmpfs,target=/link/sub links:1 \
        sh -c 'grep -c " /tmp/sub tmpfs" /proc/mounts'
    assert "$output" == "1"
    run_cbuild run --mount type=bind,source=sub,target=/esc/y links:1 \
        sh -c 'cat /y/f'
    assert "$output" == "hello"
    [ ! -e "$TESTDIR/y" ] && [ ! -e /y ]
}

@test "mounts: a secret is a 0400 file at /run/secrets/ID, and never in the store" {
    local secret=sec-$RANDOM-$RANDOM-$$
    printf %s "$secret" >"$TESTDIR/secret"
    run_cbuild run --secret "id=tok,src=$TESTDIR/secret" \
        --mount type=secret,id=tok base:1 \
        sh -c 'cat /run/secrets/tok; echo; stat -c "%a %u" /run/secrets/tok; grep -c /run/secrets/tok /proc/mounts'
    assert "$output" == "$secret"$'\n'"400 0"$'\n'"1"
    run_cbuild run --secret "id=tok,src=$TESTDIR/secret" \
        --mount type=secret,id=tok,target=/etc/app/key,mode=0440 base:1 \
        sh -c 'cat /etc/app/key; echo; stat -c %a /etc/app/key'
    assert "$output" == "$secret"$'\n'"440"
    ! grep -rqF "$secret" "$CBUILD_ROOT"
    [[ $stderr != *"$secret"* ]]
}

@test "mounts: a secret with env= is a variable, and a file only with a target" {
    TOKEN_VALUE=from-env run_cbuild run --secret id=tok,env=TOKEN_VALUE \
        --mount type=secret,id=tok,env=TOK base:1 \
        sh -c 'echo "$TOK"; ls /run/secrets 2>&1 || true'
    assert "$output" =~ ^from-env$'\n'
    assert "$output" =~ "No such file or directory"
    TOKEN_VALUE=from-env run_cbuild run --secret id=tok,env=TOKEN_VALUE \
        --mount type=secret,id=tok,env=TOK,target=/k base:1 \
        sh -c 'echo "$TOK"; cat /k'
    assert "$output" == "from-env"$'\n'"from-env"
}

@test "mounts: a missing secret is an error when required, else left out" {
    run_cbuild 2 run --mount type=secret,id=nope,required base:1 true
    assert "$(line_count "$stderr")" == "1"
    assert "$stderr" =~ "--mount=type=secret,id=nope: secret 'nope' is required but was not given"
    run_cbuild run --mount type=secret,id=nope base:1 sh -c 'ls /run/secrets 2>/dev/null | wc -l'
    assert "$output" == "0"
    run_cbuild 1 run --secret id=x,src="$TESTDIR/none" base:1 true
    assert "$stderr" =~ "--secret id=x: cannot open"
}

@test "mounts: type=ssh is not supported yet" {
    run_cbuild 1 run --mount type=ssh base:1 true
    assert "$(line_count "$stderr")" == "1"
    assert "$stderr" =~ "--mount=type=ssh is not supported yet"
}

@test "mounts: a bad --mount is a usage error before anything runs" {
    run_cbuild 2 run --mount type=bind base:1 true
    assert "$stderr" =~ "--mount=type=bind: mount has no target"
    run_cbuild 2 run --mount type=nfs,target=/x base:1 true
    assert "$stderr" =~ "unsupported mount type 'nfs'"
    run_cbuild 2 run --mount type=tmpfs,target=/x,uid=1 base:1 true
    assert "$stderr" =~ "'uid' is not allowed for tmpfs mounts"
    run_cbuild 2 run --mount type=tmpfs,target=/ base:1 true
    assert "$stderr" =~ "cannot mount over /"
    [ ! -d "$CBUILD_ROOT/cache" ]
}
