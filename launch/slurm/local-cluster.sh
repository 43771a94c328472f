#!/usr/bin/env bash
# Starts or stops a throw-away single-node Slurm cluster (munge + slurmctld + slurmd) whose
# whole state lives in one folder. Used by the `slurm` tests; also handy to try the sbatch
# templates on a workstation.
#
#   launch/slurm/local-cluster.sh start DIR [CPUS]   # prints: export SLURM_CONF=DIR/slurm.conf
#     CPUS (default 8) is what the node offers Slurm, whatever the machine has: a job asking
#     for more tasks per node than CPUS stays pending.
#   launch/slurm/local-cluster.sh stop DIR           # stops the daemons by PID
#
# Needs root and Debian's slurm-wlm, slurmctld, slurmd, slurm-client and munge packages.
set -euo pipefail

cmd=${1:?usage: local-cluster.sh start|stop DIR [CPUS]}
base=${2:?usage: local-cluster.sh start|stop DIR [CPUS]}
cpus=${3:-8}

# Job steps (slurmstepd, working in $base/log) outlive slurmd: end them and everything they
# started, or a later cluster's job of the same id collides with their PMIx files.
kill_job_steps() {
  local steps="" d
  for d in /proc/[0-9]*; do
    [[ "$(cat "$d/comm" 2>/dev/null)" == slurmstepd && "$(readlink "$d/cwd" 2>/dev/null)" == "$base"/* ]] &&
      steps+=" ${d#/proc/}"
  done
  [[ -n "$steps" ]] || return 0
  # The steps and their descendants, from the table of parent pids.
  local all
  all=$(ps -e -o pid=,ppid= | awk -v roots="$steps" '
    BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) keep[r[i]] = 1 }
    { parent[$1] = $2 }
    END {
      for (grew = 1; grew;) {
        grew = 0
        for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; grew = 1 }
      }
      for (p in keep) print p
    }')
  # shellcheck disable=SC2086  # a list of pids
  kill -9 $all 2>/dev/null || true
}

stop() {
  kill_job_steps
  for p in slurmd slurmctld munged; do
    if [[ -f "$base/run/$p.pid" ]]; then
      pid=$(cat "$base/run/$p.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$base/run/$p.pid"
    fi
  done
}

if [[ "$cmd" == stop ]]; then
  stop
  exit 0
fi
[[ "$cmd" == start ]] || { echo "unknown command $cmd" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "local-cluster.sh: must run as root" >&2; exit 2; }

mkdir -p "$base"/{run,log,state,spool,munge,tmp}
base=$(cd "$base" && pwd)
host=$(hostname -s)
# Free ports, so that several clusters (or a leftover one) never collide: random ones that
# nothing answers on, below the kernel's ephemeral range (an outgoing connection holds a port
# of that range, which then cannot be bound although nothing listens on it).
read -r eph_low _ < /proc/sys/net/ipv4/ip_local_port_range || eph_low=32768
((eph_low > 12000)) || eph_low=32768
free_port() {
  local p
  while :; do
    p=$((10000 + RANDOM % (eph_low - 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
}
ctld_port=$(free_port)
slurmd_port=$(free_port)
while [[ "$slurmd_port" == "$ctld_port" ]]; do slurmd_port=$(free_port); done

# munge: its own key, socket and state, running as the munge user.
chown -R munge:munge "$base/munge"
chmod 0755 "$base/munge"
dd if=/dev/urandom bs=1 count=1024 of="$base/munge/munge.key" status=none
chown munge:munge "$base/munge/munge.key"
chmod 0400 "$base/munge/munge.key"
runuser -u munge -- /usr/sbin/munged --key-file="$base/munge/munge.key" \
  --socket="$base/munge/munge.socket" --pid-file="$base/munge/munged.pid" \
  --log-file="$base/munge/munged.log" --seed-file="$base/munge/munged.seed" --force
cp "$base/munge/munged.pid" "$base/run/munged.pid"

cat > "$base/slurm.conf" <<CONF
ClusterName=ecps-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$base/munge/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$base/state
SlurmdSpoolDir=$base/spool/%n
SlurmctldPidFile=$base/run/slurmctld.pid
SlurmdPidFile=$base/run/slurmd.pid
SlurmctldLogFile=$base/log/slurmctld.log
SlurmdLogFile=$base/log/slurmd.log
TmpFS=$base/tmp
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=pmix
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
SchedulerType=sched/backfill
MinJobAge=3600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
# slurmd 22.05 aborts where the cgroup v2 layout is missing unless the plugin is pinned.
echo "CgroupPlugin=cgroup/v1" > "$base/cgroup.conf"
export SLURM_CONF="$base/slurm.conf"

/usr/sbin/slurmctld -f "$SLURM_CONF"
/usr/sbin/slurmd -f "$SLURM_CONF"
# At most 30 s; sinfo itself waits for an unreachable controller, so each call is bounded,
# and a controller that died (its log says why) ends the wait at once.
state=""
for ((end = SECONDS + 30; SECONDS < end; )); do
  state=$(timeout 5 sinfo -h -o %T 2>/dev/null || true)
  [[ "$state" == idle ]] && break
  pid=$(cat "$base/run/slurmctld.pid" 2>/dev/null || true)
  if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then state="slurmctld ended"; break; fi
  sleep 0.2
done
if [[ "$state" != idle ]]; then
  echo "local-cluster.sh: the node did not become idle (state: ${state:-none}); logs in $base/log" >&2
  stop
  exit 1
fi
if ((cpus < 4)); then
  # Slurm keeps a job that asks more CPUs than the node has pending (reason "Resources")
  # instead of refusing it: say so now rather than leave the template's job waiting forever.
  echo "local-cluster.sh: note: the node has $cpus CPUs; train.sbatch asks 4 tasks per node," \
       "so submit it with --ntasks-per-node=$cpus (or start the cluster with CPUS >= 4;" \
       "CPUS may exceed the machine's cores)" >&2
fi
echo "export SLURM_CONF=$SLURM_CONF"
