# Fleet renewals, sourced by run.sh: FLEET renewals (issuances whose authorization is
# reused) per concurrency level in FLEET_CONC, through one account. For p11acme every
# renewal signs through the same SoftHSM token (one token directory, one key), which is
# the point: many hosts, one account key that none of them holds.
#
# Eight names are validated first with http-01 by a seed directory; renewal k then
# orders fleet-(k mod 8) from its own directory, which holds a copy of the seed's account
# (lego: the account directory with its key; p11acme: the account URL cache only).
# p11acme runs with --reuse-only, the internal-host mode (no challenge server).
# Output: one line per client and level in $FLEET_CSV; per-renewal times in
# $OUT/fleet-<client>.csv.

FLEET_NAMES=8

fleet_job_script() {
	local client=$1 jobs=$2 script=$3 cmdline
	client_cmd "$client" reuse "@DIR@" "@NAME@"
	if [ "$client" = p11acme ]; then
		# internal hosts: no challenge server, fail (exit 3) if a challenge were needed
		local i new=()
		for ((i = 0; i < ${#CMD[@]}; i++)); do
			case "${CMD[$i]}" in
			--standalone) new+=(--reuse-only) ;;
			--http-port | --http-address) i=$((i + 1)) ;;
			*) new+=("${CMD[$i]}") ;;
			esac
		done
		CMD=("${new[@]}")
	fi
	cmdline=$(printf '%q ' "${CMD[@]}" | sed 's/@DIR@/"$dir"/g; s/@NAME@/"$name"/g')
	cat >"$script" <<EOF
#!/usr/bin/env bash
k=\$1
dir="$jobs/\$k"
name="fleet-\$((k % $FLEET_NAMES)).$DOMAIN"
t0=\$EPOCHREALTIME
$cmdline >"\$dir.log" 2>&1
rc=\$?
t1=\$EPOCHREALTIME
echo "\$k \$rc \$t0 \$t1" >>"$jobs/results"
EOF
	chmod +x "$script"
}

fleet_run() {
	local client=$1 n=$FLEET seed c k jobs t0 t1 before after i
	seed="$T/fleet/$client/seed"
	[ "$client" != p11acme ] && n=${BENCH_FLEET_OTHERS:-100}
	th_log "fleet: $client, $n renewals at concurrency $FLEET_CONC"
	# seed: validate the names with http-01 (one issuance each, sequential)
	for i in $(seq 0 $((FLEET_NAMES - 1))); do
		if [ "$i" = 0 ]; then
			mkdir -p "$seed"
			client_cmd "$client" first "$seed" "fleet-$i.$DOMAIN"
		else
			client_cmd "$client" reuse "$seed" "fleet-$i.$DOMAIN"
		fi
		[ "$client" = uacme ] && nginx_start
		"${CMD[@]}" >"$T/fleet-seed-$client-$i.log" 2>&1 || {
			[ "$client" = uacme ] && nginx_stop
			th_log "fleet: $client could not validate fleet-$i; skipped"
			tail -n 5 "$T/fleet-seed-$client-$i.log" >&2
			return 0
		}
		[ "$client" = uacme ] && nginx_stop
	done
	echo "client,concurrency,k,rc,wall_s" >"$OUT/fleet-$client.csv"
	for c in $FLEET_CONC; do
		jobs="$T/fleet/$client/c$c"
		mkdir -p "$jobs"
		for k in $(seq 0 $((n - 1))); do client_share "$client" "$seed" "$jobs/$k"; done
		fleet_job_script "$client" "$jobs" "$T/fleet/$client/job-c$c.sh"
		: >"$jobs/results"
		before=$(wc -l <"$TH_PEBBLE_LOG")
		t0=$EPOCHREALTIME
		seq 0 $((n - 1)) | xargs -P "$c" -n 1 "$T/fleet/$client/job-c$c.sh"
		t1=$EPOCHREALTIME
		after=$(wc -l <"$TH_PEBBLE_LOG")
		sed -n "$((before + 1)),${after}p" "$TH_PEBBLE_LOG" >"$jobs/pebble"
		python3 "$BENCH_DIR/fleet_results.py" "$client" "$c" "$n" "$t0" "$t1" "$jobs/results" \
			"$FLEET_CSV" "$OUT/fleet-$client.csv" "$jobs/pebble"
		if [ "$(awk '$2 != 0' "$jobs/results" | wc -l)" -gt 0 ]; then
			k=$(awk '$2 != 0 {print $1; exit}' "$jobs/results")
			th_log "fleet: $client c=$c first failure (job $k):"
			tail -n 5 "$jobs/$k.log" | sed 's/^/#   /' >&2
			cp "$jobs/$k.log" "$OUT/failed-fleet-$client-c$c-$k.log" 2>/dev/null || true
		fi
	done
}
