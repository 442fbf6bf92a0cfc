#!/usr/bin/env bash
# Runs a throwaway single-node Ceph RADOS Gateway (S3 API) on 127.0.0.1 for
# tests and CI: one monitor, one in-memory OSD and one radosgw, all state in a
# scratch folder.
#
#   scripts/s3-server.sh start [DIR]   start (fresh state) and print `export` lines
#   scripts/s3-server.sh stop  [DIR]   stop the daemons started from DIR
#   scripts/s3-server.sh env   [DIR]   print the `export` lines again
#
# DIR defaults to ${TMPDIR:-/tmp}/dreamlake-s3. Environment overrides:
#   S3_PORT (7480), S3_BUCKET (dreamlake-test), CEPH_MON_PORT (3300),
#   S3_MEMSTORE_BYTES (6 GiB; objects are held in RAM).
# Only the `export` lines go to stdout, so `eval "$(scripts/s3-server.sh start)"`
# works; progress and errors go to stderr.
set -euo pipefail

readonly MARKER=".dreamlake-s3"
readonly ACCESS_KEY="DREAMLAKETESTACCESS1"
readonly SECRET_KEY="dreamlake-test-secret-key-0000000000000000"
readonly REGION="us-east-1"
readonly USER_ID="dreamlake-test"
readonly PORT="${S3_PORT:-7480}"
readonly BUCKET="${S3_BUCKET:-dreamlake-test}"
readonly MON_PORT="${CEPH_MON_PORT:-3300}"
readonly MEMSTORE_BYTES="${S3_MEMSTORE_BYTES:-6442450944}"
readonly DAEMONS=(rgw osd mon) # stop order

log() { printf 's3-server: [%s] %s\n' "$(date +%T.%3N)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  echo "usage: $0 {start|stop|env} [DIR]" >&2
  exit 2
}

# --- helpers -----------------------------------------------------------------

ensure_packages() {
  if command -v radosgw >/dev/null && command -v ceph-mon >/dev/null \
    && command -v ceph-osd >/dev/null; then
    return
  fi
  log "installing Ceph packages (radosgw, ceph-mon, ceph-osd)"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq >&2
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    radosgw ceph-mon ceph-osd curl >&2
}

# Prints the pid recorded for daemon $1 if that process is alive and was
# started with this folder's config file (guards against reused pids).
live_pid() {
  local pidfile="$DIR/$1.pid" pid
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$CONF" || return 1
  echo "$pid"
}

# Stops the daemons one at a time (radosgw first: it shuts down quickly only
# while the cluster is still up).
stop_daemons() {
  local name pid i
  for name in "${DAEMONS[@]}"; do
    if pid=$(live_pid "$name"); then
      kill -TERM "$pid" 2>/dev/null || true
      for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      if kill -0 "$pid" 2>/dev/null; then
        log "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
    rm -f "$DIR/$name.pid"
  done
}

# Starts "$@" detached (own session, stdin closed) and records its pid as $name.
spawn() {
  local name=$1
  shift
  setsid "$@" </dev/null >>"$DIR/log/$name.out" 2>&1 &
  echo $! >"$DIR/$name.pid"
}

ceph_cmd() { ceph -c "$CONF" --connect-timeout 30 "$@"; }

wait_for() {
  local what=$1 tries=$2
  shift 2
  local i
  for ((i = 0; i < tries; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    local name
    for name in "${DAEMONS[@]}"; do
      if [[ -f $DIR/$name.pid ]] && ! live_pid "$name" >/dev/null; then
        die "$name exited while waiting for $what; see $DIR/log/"
      fi
    done
    sleep 0.1
  done
  die "timed out waiting for $what; see $DIR/log/"
}

write_conf() {
  local fsid=$1
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$MON_PORT
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind ipv6 = false
keyring = $DIR/keyring
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
crash dir = $DIR/crash
mon cluster log file = $DIR/log/cluster.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0

[mon]
mon data = $DIR/mon/\$cluster-\$id
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
mon data avail warn = 1
mon data avail crit = 0
paxos propose interval = 0.01
paxos min wait = 0.01
mon osd reporter subtree level = osd

[osd]
osd data = $DIR/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES
osd crush update on start = true
osd crush initial weight = 1

[client.rgw.gw]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw data = $DIR/rgw
rgw enable usage log = false
rgw gc obj min wait = 30
rgw gc processor period = 30
EOF
}

write_env() {
  cat <<EOF
export STORAGE=s3
export S3_ENDPOINT=http://127.0.0.1:$PORT
export S3_REGION=$REGION
export S3_BUCKET=$BUCKET
export S3_FORCE_PATH_STYLE=true
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
EOF
}

# --- commands ----------------------------------------------------------------

cmd_start() {
  local t0=$SECONDS
  ensure_packages
  command -v curl >/dev/null || die "curl is required"

  # Stop a previous instance from this folder, then wipe it (only if it is
  # empty or was created by this script).
  if [[ -e $DIR ]]; then
    [[ -d $DIR ]] || die "$DIR exists and is not a folder"
    if [[ ! -e $DIR/$MARKER ]] && [[ -n $(ls -A "$DIR") ]]; then
      die "$DIR is not empty and was not created by this script; refusing to wipe it"
    fi
    stop_daemons
    rm -rf "$DIR"
  fi
  if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; then
    die "port $PORT is already in use (set S3_PORT to use another)"
  fi
  mkdir -p "$DIR"/{run,log,crash,mon,osd,rgw}
  touch "$DIR/$MARKER"
  trap stop_daemons EXIT # don't leave half a cluster behind on failure

  local fsid osd_uuid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  write_conf "$fsid"

  # One keyring with every entity's key; the monitor imports it at mkfs time.
  local kr=$DIR/keyring
  {
    ceph-authtool "$kr" --create-keyring --gen-key -n mon. --cap mon 'allow *'
    ceph-authtool "$kr" --gen-key -n client.admin --cap mon 'allow *' \
      --cap osd 'allow *' --cap mgr 'allow *'
    ceph-authtool "$kr" --gen-key -n osd.0 --cap mon 'allow profile osd' \
      --cap osd 'allow *' --cap mgr 'allow profile osd'
    ceph-authtool "$kr" --gen-key -n client.rgw.gw --cap mon 'allow rw' \
      --cap osd 'allow rwx' --cap mgr 'allow rw'
  } >/dev/null

  log "starting monitor on 127.0.0.1:$MON_PORT"
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT]" \
    "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" -i a --mkfs --monmap "$DIR/monmap" --keyring "$kr" >>"$DIR/log/mkfs.out" 2>&1 \
    || die "ceph-mon --mkfs failed; see $DIR/log/mkfs.out"
  spawn mon ceph-mon -f -c "$CONF" -i a
  wait_for "the monitor" 300 ceph_cmd mon stat

  log "starting OSD (memstore, $((MEMSTORE_BYTES / 1048576)) MiB)"
  local osd_id
  osd_id=$(ceph_cmd osd new "$osd_uuid")
  [[ $osd_id == 0 ]] || die "unexpected OSD id '$osd_id'"
  mkdir -p "$DIR/osd/ceph-0"
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$DIR/log/mkfs.out" 2>&1 \
    || die "ceph-osd --mkfs failed; see $DIR/log/mkfs.out"
  spawn osd ceph-osd -f -c "$CONF" -i 0

  # Creating RGW's pools up front avoids slow first requests.
  local pool cmds=""
  for pool in .rgw.root default.rgw.control default.rgw.meta default.rgw.log \
    default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec \
    default.rgw.otp; do
    cmds+="osd pool create $pool 8 8 replicated"$'\n'
    cmds+="osd pool application enable $pool rgw"$'\n'
  done
  ceph_cmd <<<"$cmds" >>"$DIR/log/pools.out" 2>&1 \
    || die "creating pools failed; see $DIR/log/pools.out"
  wait_for "the OSD" 300 bash -c "ceph -c '$CONF' osd dump | grep -q '^osd.0 up'"

  log "starting radosgw on 127.0.0.1:$PORT"
  spawn rgw radosgw -f -c "$CONF" -n client.rgw.gw
  wait_for "radosgw" 600 curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"

  radosgw-admin -c "$CONF" user create --uid="$USER_ID" \
    --display-name="DreamLake tests" --access-key="$ACCESS_KEY" \
    --secret="$SECRET_KEY" >>"$DIR/log/admin.out" 2>&1 \
    || die "radosgw-admin user create failed; see $DIR/log/admin.out"

  # curl signs x-amz-* headers but (before 8.x) sends no payload hash itself.
  local code
  code=$(curl -s -o "$DIR/log/bucket.out" -w '%{http_code}' -X PUT \
    -H "x-amz-content-sha256: $(printf '' | sha256sum | cut -d' ' -f1)" \
    --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
    "http://127.0.0.1:$PORT/$BUCKET")
  [[ $code == 200 ]] || die "creating bucket $BUCKET failed (HTTP $code); see $DIR/log/bucket.out"

  write_env >"$DIR/env"
  trap - EXIT
  log "ready in $((SECONDS - t0)) s (state in $DIR)"
  cat "$DIR/env"
}

cmd_stop() {
  [[ -d $DIR ]] || { log "$DIR does not exist; nothing to stop"; return 0; }
  stop_daemons
  log "stopped"
}

cmd_env() {
  [[ -f $DIR/env ]] || die "$DIR/env not found; run '$0 start' first"
  cat "$DIR/env"
}

(($# >= 1 && $# <= 2)) || usage
DIR="${2:-${TMPDIR:-/tmp}/dreamlake-s3}"
DIR="$(realpath -m -- "$DIR")"
[[ $DIR != / ]] || die "refusing to use / as the state folder"
CONF="$DIR/ceph.conf"

case "$1" in
start) cmd_start ;;
stop) cmd_stop ;;
env) cmd_env ;;
*) usage ;;
esac
