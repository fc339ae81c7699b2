# The demo task (runs in the task container's busybox sh): ~300 coloured lines over ~20 s,
# on stdout and stderr. Used by scripts/demo and scripts/screenshot.py.
c() { printf "\033[%sm%s\033[0m %s\n" "$1" "$2" "$3"; }
c "1;36" "[start]" "Starting Process..."
i=1
while [ $i -le 300 ]; do
  case $((i % 50)) in
    1) c "1;34" "[phase]" "Loading data set $((i / 50 + 1)) of 6" ;;
  esac
  c "32" "[ok]" "Processing record $i: $(( (i * 7919) % 100000 )) bytes"
  if [ $((i % 25)) -eq 0 ]; then c "1;33" "[warn]" "record $i took longer than expected" >&2; fi
  if [ $((i % 100)) -eq 0 ]; then c "1;31" "[error]" "transient failure at $i, retrying" >&2; fi
  sleep 0.066
  i=$((i + 1))
done
c "1;32" "[done]" "Complete! 300 records processed"
