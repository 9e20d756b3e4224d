#!/usr/bin/env bash
# Installs the real BitTorrent clients the interop harness runs against (Debian/Ubuntu, as root), or
# the Debian packages named as arguments (bench/wire-image/install.sh passes its own).
# Idempotent and fast when everything is present: apt is only touched for missing packages.
# Never fails the harness: a package that cannot be installed makes what needs it SKIP with a reason.
set -uo pipefail

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(python3-libtorrent aria2 transmission-cli opentracker)
need=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -eq 0 ]; then
  echo "install: all present (${want[*]})"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install: no apt-get; missing ${need[*]} (what needs them will be skipped)" >&2
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install: not root; missing ${need[*]} (what needs them will be skipped)" >&2
  exit 0
fi
echo "install: apt-get install ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || echo "install: apt-get update failed" >&2
# One package at a time, so one unavailable package does not block the others.
for pkg in "${need[@]}"; do
  apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null 2>&1 || echo "install: could not install $pkg" >&2
done
exit 0
