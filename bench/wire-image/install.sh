#!/usr/bin/env bash
# Installs what `npm run wire-image` drives (Debian/Ubuntu, as root): tcpdump for the captures,
# tshark to inspect them by hand, nginx-light as a reference web server, python3-sklearn for the
# decision trees, curl and openssl as reference clients. Only missing packages are installed, by the
# interop harness's installer; it never fails: the harness skips a section whose tool is missing and
# says why. (The harness runs its own nginx from a temporary config; a system nginx the package may
# start on port 80 is not used.)
set -uo pipefail
# tshark asks whether non-root users may capture; answer no without a prompt.
echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections 2>/dev/null || true
exec bash "$(dirname "$0")/../../interop/install.sh" tcpdump tshark nginx-light python3-sklearn curl openssl
