#!/usr/bin/env bash
# Starts N processes of one helms_jax command on this host, connected by jax.distributed.
#
#   launch/multiprocess.sh N COMMAND [ARGS...]
#   launch/multiprocess.sh 2 helms-pipeline --config=experiments/helms_stacking.py:tiny --workdir=runs/mp
#
# Each process gets JAX_COORDINATOR_ADDRESS (127.0.0.1:$PORT, a free port unless PORT is set),
# JAX_NUM_PROCESSES=N and JAX_PROCESS_ID=i, which every helms-* entry point reads (see
# helms_jax/training/distributed.py). DEVICES_PER_PROCESS=D forces D CPU devices per process
# (for trying multi-host on one CPU machine; leave it unset on GPU hosts, and give each process
# its GPUs with CUDA_VISIBLE_DEVICES or the --local_device_ids of your launcher instead).
# Process 0 prints to this terminal; process i > 0 logs to $LOG_DIR/process_<i>.log (default
# ./multiprocess_logs). If any process fails, the others are stopped and the exit code is its.
set -euo pipefail

if [[ $# -lt 2 || ! "$1" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 NUM_PROCESSES COMMAND [ARGS...]" >&2
  exit 2
fi
num_processes=$1
shift
port=${PORT:-$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
log_dir=${LOG_DIR:-multiprocess_logs}
mkdir -p "$log_dir"
if [[ -n "${DEVICES_PER_PROCESS:-}" ]]; then
  export XLA_FLAGS="${XLA_FLAGS:-} --xla_force_host_platform_device_count=${DEVICES_PER_PROCESS}"
fi
export JAX_COORDINATOR_ADDRESS="127.0.0.1:${port}" JAX_NUM_PROCESSES="$num_processes"

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup INT TERM
for ((i = 0; i < num_processes; i++)); do
  if ((i == 0)); then
    JAX_PROCESS_ID=$i "$@" &
  else
    JAX_PROCESS_ID=$i "$@" > "$log_dir/process_$i.log" 2>&1 &
  fi
  pids+=($!)
done

status=0
remaining=$num_processes
while ((remaining > 0)); do
  # Wait for whichever process ends first; a failure stops the rest (they would hang at the
  # next collective or barrier otherwise).
  if wait -n; then
    remaining=$((remaining - 1))
  else
    status=$?
    echo "multiprocess.sh: a process exited with status $status; stopping the others" \
         "(logs in $log_dir/)" >&2
    cleanup
    wait || true
    break
  fi
done
exit "$status"
