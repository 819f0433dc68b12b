#!/usr/bin/env bash
# apt-install.sh WHO PACKAGE...: install Debian packages that are missing, as root; as any
# other user, say what to install and fail. scripts/bootstrap.sh and scripts/js-setup.sh
# call it with what they found missing (WHO prefixes the messages).
set -euo pipefail
who=$1
shift
(($#)) || exit 0
if [ "$(id -u)" = 0 ]; then
  echo "$who: installing $* with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
else
  echo "$who: please install: $* (e.g. sudo apt-get install $*)" >&2
  exit 1
fi
