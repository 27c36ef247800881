#!/bin/sh
# The Debian package, end to end: builds the .deb from this build tree (cpack, no compiling),
# checks its control data, contents and conffiles with dpkg-deb, installs it with dpkg into a
# scratch root (maintainer scripts included, with DPKG_ROOT), runs the installed binary's
# --check-config on the installed config, then purges it. Last, checks what `cmake --install`
# writes under another prefix, and that a second install keeps an edited config.
#
# Usage: package_test.sh CPACK CMAKE BUILD_DIR SOURCE_DIR (ctest passes them).
set -eu
cpack=$1 cmake=$2 build=$3 source=$4

fail() {
    echo "package_test: FAILED: $*" >&2
    exit 1
}
check() {
    echo "package_test: $*"
}

for tool in dpkg dpkg-deb; do
    command -v "$tool" >/dev/null || fail "$tool is missing (Debian package dpkg)"
done
work=$(mktemp -d /tmp/seshook-package-XXXXXX)
trap 'rm -rf "$work"' EXIT

# Build the package from what this build tree made.
"$cpack" -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 ||
    { cat "$work/cpack.log"; fail "cpack did not build the package"; }
deb=$(ls "$work"/out/seshook_*_amd64.deb)
check "built $(basename "$deb")"

# Control data: the name, and dependencies computed by dpkg-shlibdeps plus adduser.
[ "$(dpkg-deb --field "$deb" Package)" = seshook ] || fail "the package is not called seshook"
depends=$(dpkg-deb --field "$deb" Depends)
for dependency in adduser libc6 libssl3 libsqlite3-0 libsystemd0 zlib1g; do
    echo "$depends" | grep -q "$dependency" || fail "Depends lacks $dependency: $depends"
done
check "depends: $depends"

# Contents: the binary, the units, the sysusers file, the config, logrotate, the docs.
dpkg-deb --contents "$deb" | awk '{ print $6 }' >"$work/contents"
for file in ./usr/bin/seshook ./usr/lib/systemd/system/seshook.service \
    ./usr/lib/systemd/system/seshook.socket ./usr/lib/systemd/system/seshook-https.socket \
    ./usr/lib/sysusers.d/seshook.conf ./etc/seshook/seshook.toml ./etc/logrotate.d/seshook \
    ./usr/share/doc/seshook/README.md ./usr/share/doc/seshook/seshook.toml.example; do
    grep -qx "$file" "$work/contents" || fail "the package lacks $file"
done
check "contents: $(wc -l <"$work/contents") entries, all expected ones there"

# Conffiles: every file in /etc, so that dpkg keeps an operator's edits.
dpkg-deb --control "$deb" "$work/control"
printf '/etc/seshook/seshook.toml\n/etc/logrotate.d/seshook\n' | cmp -s - "$work/control/conffiles" ||
    fail "conffiles: $(cat "$work/control/conffiles")"
check "conffiles: $(tr '\n' ' ' <"$work/control/conffiles")"

# The unit in the package is the one of the source tree, with the package's own paths.
dpkg-deb --extract "$deb" "$work/extracted"
cmp -s "$work/extracted/usr/lib/systemd/system/seshook.service" "$source/dist/systemd/seshook.service" ||
    fail "the packaged unit differs from dist/systemd/seshook.service"

# Install into a scratch root, as dpkg would on a system, with the maintainer scripts run
# against that root.
root="$work/root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/etc"
: >"$root/var/lib/dpkg/status"
dpkg --root="$root" --log=/dev/null --force-not-root --force-script-chrootless --force-depends \
    --install "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg --install"; }
dpkg --root="$root" --status seshook | grep -q "^Status: install ok installed" ||
    fail "dpkg does not see seshook installed"
check "installed into a scratch root"

# The postinst made the system user and gave its group the config, which only it may read.
if command -v systemd-sysusers >/dev/null; then
    grep -q '^seshook:' "$root/etc/passwd" || fail "no user seshook in the root's /etc/passwd"
    gid=$(awk -F: '$1 == "seshook" { print $3 }' "$root/etc/group")
    [ -n "$gid" ] || fail "no group seshook in the root's /etc/group"
    [ "$(stat -c '%a %g' "$root/etc/seshook/seshook.toml")" = "640 $gid" ] ||
        fail "config mode and group: $(stat -c '%a %g' "$root/etc/seshook/seshook.toml")"
    check "user seshook made; config mode 640, group seshook"
fi

# The installed binary takes the installed config.
"$root/usr/bin/seshook" --check-config --config "$root/etc/seshook/seshook.toml" >"$work/check.log" 2>&1 ||
    { cat "$work/check.log"; fail "the installed config does not check"; }
check "$(cat "$work/check.log")"

# Purging removes the files and the conffiles.
dpkg --root="$root" --log=/dev/null --force-not-root --force-script-chrootless --force-depends \
    --purge seshook >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge"; }
[ ! -e "$root/usr/bin/seshook" ] && [ ! -e "$root/etc/seshook/seshook.toml" ] ||
    fail "files left after purge"
check "purged"

# `cmake --install` under another prefix writes that prefix into the unit...
prefix="$work/prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log"; fail "cmake --install"; }
grep -qx "ExecStart=$prefix/bin/seshook --config $prefix/etc/seshook/seshook.toml" \
    "$prefix/lib/systemd/system/seshook.service" || fail "ExecStart of the installed unit"
[ -x "$prefix/bin/seshook" ] && [ -f "$prefix/etc/logrotate.d/seshook" ] || fail "installed files"
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify "$prefix/lib/systemd/system/seshook.service" \
        "$prefix/lib/systemd/system/seshook.socket" || fail "systemd-analyze verify"
fi
check "cmake --install --prefix: unit names $prefix/bin/seshook"

# ...and a second install keeps the config an operator edited.
echo "# edited" >>"$prefix/etc/seshook/seshook.toml"
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 || fail "second install"
grep -q "^# edited" "$prefix/etc/seshook/seshook.toml" || fail "the second install replaced the config"
check "a second cmake --install keeps an edited config"
