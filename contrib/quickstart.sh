#!/bin/sh
# quickstart.sh: one-step set-up on Debian 12 (run as root).
#   sh contrib/quickstart.sh run    install dependencies, build, and run
#                                   sipedged in the foreground on conf/sipedge.conf
#   sh contrib/quickstart.sh test   install dependencies, build with -Werror,
#                                   and run the whole test suite (make check)
set -eu
cd "$(dirname "$0")/.."
mode=${1:-}
case $mode in
run|test) ;;
*) echo "usage: sh contrib/quickstart.sh run|test" >&2; exit 2 ;;
esac

# Build dependencies, then the real peers the tests talk to.
BUILD_DEPS="build-essential autoconf automake pkg-config libssl-dev openssl
libosip2-dev libevent-dev libcurl4-openssl-dev zlib1g-dev libminizip-dev
libconfig-dev libcmocka-dev ca-certificates"
TEST_DEPS="sip-tester stunnel4 python3 valgrind kamailio kamailio-tls-modules"

missing=""
for p in $BUILD_DEPS $([ "$mode" = test ] && echo "$TEST_DEPS"); do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "quickstart: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	# The tests start their own Kamailio on loopback.  Debian's package
	# enables kamailio.service and, under systemd, starts it with the stock
	# configuration on port 5060 of every address (without systemd its init
	# script does nothing until RUN_KAMAILIO=yes).  Stop and disable the
	# service this run installed, so that port 5060 stays free.
	case " $missing " in
	*" kamailio "*)
		if [ -d /run/systemd/system ]; then
			systemctl disable --now kamailio.service >/dev/null 2>&1 || true
		fi
		;;
	esac
fi

[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure --enable-warnings
make -j"$(nproc)"

if [ "$mode" = run ]; then
	exec ./src/sipedged -f -c conf/sipedge.conf
fi
make -j"$(nproc)" check
