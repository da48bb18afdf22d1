#!/bin/bash
# test_escape.sh - nothing in the store leads out of it or across
# patients: symlinks (to files outside, to another patient's folder), `..`,
# a hard link to a forbidden patient's photo, a directory swapped for a
# symlink in a loop while a user reads, FIFOs, device nodes, sockets and a
# mount inside the store.
. "$PG_SOURCE_ROOT/gateway/tests/lib.sh"

gw_setup_or_bail
pre=2026-01-10-preop
mine=$s/patients/P000001/$pre
gw_mfa_issue gwsurg
printf 'OUTSIDE SECRET\n' >"$tmp/outside.txt"
chmod 0644 "$tmp/outside.txt"

# Plant the traps in the store, as a careless admin or an attacker with
# store access might.
ln -s "$tmp/outside.txt" "$mine/out.jpg"
ln -s ../../P000003/$pre "$s/patients/P000001/other"
ln -s /etc "$s/patients/P000001/etc"
ln "$s/patients/P000003/$pre/IMG_0001.jpg" "$mine/hard.jpg"
mkfifo "$mine/fifo.jpg"
mknod "$mine/null.jpg" c 1 3
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$mine/sock.jpg"
mkdir -p "$s/patients/P000001/mnt"
mount -t tmpfs -o size=1m tmpfs "$s/patients/P000001/mnt" && printf 'MOUNTED\n' >"$s/patients/P000001/mnt/f.jpg"
chown -h gwstore "$mine"/* "$s/patients/P000001/other" "$s/patients/P000001/etc"

gw_start_or_bail "gateway mounts"

is "the series lists only its regular, single-link photos" \
    "$(as gwsurg ls -A "$m/patients/P000001/$pre" | tr '\n' ' ')" "IMG_0001.jpg IMG_0002.jpg IMG_0003.jpg "
is "the patient folder lists no symlink and no mount" \
    "$(as gwsurg ls -A "$m/patients/P000001" | tr '\n' ' ')" "2026-01-10-preop 2026-02-20-postop archive incoming "
for f in out.jpg hard.jpg fifo.jpg null.jpg sock.jpg; do
	out=$(as gwsurg timeout 5 cat "$m/patients/P000001/$pre/$f" 2>&1); rc=$?
	like "$f: does not exist through the gateway" "$out" "No such file or directory"
done
out=$(as gwsurg cat "$m/patients/P000001/other/IMG_0001.jpg" 2>&1)
like "a symlink to another patient's folder leads nowhere" "$out" "No such file or directory"
out=$(as gwsurg cat "$m/patients/P000001/etc/passwd" 2>&1)
like "a symlink to /etc leads nowhere" "$out" "No such file or directory"
out=$(as gwsurg cat "$m/patients/P000001/../P000003/$pre/IMG_0002.jpg" 2>&1)
like "'..' into another patient: ENOENT" "$out" "No such file or directory"
out=$(as gwsurg cat "$m/patients/P000001/$pre/../../../../outside.txt" 2>&1)
like "'..' out of the mount reaches only what the caller may read anyway" "$out" "OUTSIDE SECRET|No such file"
out=$(as gwsurg cat "$m/patients/P000001/mnt/f.jpg" 2>&1)
like "a mount inside the store is not crossed" "$out" "No such file or directory"
ln -f "$s/patients/P000002/$pre/IMG_0003.jpg" "$s/patients/P000002/$pre/IMG_0099.jpg"
out=$(as gwsurg cat "$m/patients/P000002/$pre/IMG_0003.jpg" 2>&1)
like "a hard-linked photo is refused even under an allowed path" "$out" "No such file or directory"
rm -f "$s/patients/P000002/$pre/IMG_0099.jpg"

# Swap the surgeon's series for a symlink to another patient's series
# in a loop, while the surgeon reads it in a loop.
(
	end=$((SECONDS + 4))
	while [ $SECONDS -lt $end ]; do
		mv "$mine" "$mine.real" 2>/dev/null
		ln -sfn "../../P000003/$pre" "$mine" 2>/dev/null
		rm -f "$mine" 2>/dev/null
		mv "$mine.real" "$mine" 2>/dev/null
	done
) &
swapper=$!
cat >"$tmp/out/loop.sh" <<'SH'
end=$((SECONDS + 4))
while [ $SECONDS -lt $end ]; do
	cat "$1"/IMG_0001.jpg "$1"/IMG_0002.jpg 2>/dev/null | head -c 64 | grep -a -o 'PHOTO patients/P[0-9]*' 
done
SH
seen=$(as gwsurg bash "$tmp/out/loop.sh" "$m/patients/P000001/$pre" | sort | uniq -c)
wait "$swapper"
[ -d "$mine.real" ] && { rm -f "$mine"; mv "$mine.real" "$mine"; }
like "swap loop: the surgeon read her own patient's photos" "$seen" "P000001"
check "swap loop: never a byte of the other patient's" bash -c "! grep -q P000003 <<<'$seen'"
diag "reads during the swap loop: $(echo $seen)"
umount "$s/patients/P000001/mnt"
gw_done
