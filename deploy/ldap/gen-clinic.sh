#!/bin/sh
# gen-clinic.sh - care teams for the sample clinic (clinic-sample.ldif).
#
#   gen-clinic.sh N [ldif|file] [BASE_DN]
#
# Writes to stdout the care teams of N patients, P000001 ... PNNNNNN: each
# patient gets 1-2 surgeons and 2-3 nurses of the sample staff, spread
# evenly and deterministically, so runs are reproducible.
#   ldif (default)  one groupOfNames per patient under ou=careteams, cn =
#                   patient id, member = staff DNs (ldapadd / slapadd -n1)
#   file            the same teams in the care-team file format of the local
#                   backend ("P000001: asmith dlopez ekim")
set -eu

usage() {
	echo "usage: gen-clinic.sh N [ldif|file] [BASE_DN]" >&2
	exit 2
}

[ $# -ge 1 ] && [ $# -le 3 ] || usage
n=$1
fmt=${2:-ldif}
base=${3:-dc=clinic,dc=example}
case $n in
'' | *[!0-9]*) usage ;;
esac
[ "$n" -ge 1 ] && [ "$n" -le 999999 ] || {
	echo "gen-clinic.sh: N must be 1..999999" >&2
	exit 2
}
case $fmt in
ldif | file) ;;
*) usage ;;
esac

awk -v n="$n" -v fmt="$fmt" -v base="$base" 'BEGIN {
	ns = split("asmith bjones cwu", surg, " ")
	nn = split("dlopez ekim fmartin gnovak", nurse, " ")
	if (fmt == "ldif")
		printf "# care teams of %d patients, from gen-clinic.sh\n\n", n
	else
		printf "# care teams of %d patients, from gen-clinic.sh\n", n
	for (i = 1; i <= n; i++) {
		k = 0
		m[++k] = surg[(i - 1) % ns + 1]
		if (i % 3 == 0)
			m[++k] = surg[i % ns + 1]
		m[++k] = nurse[(i - 1) % nn + 1]
		m[++k] = nurse[i % nn + 1]
		if (i % 2 == 0)
			m[++k] = nurse[(i + 1) % nn + 1]
		id = sprintf("P%06d", i)
		if (fmt == "ldif") {
			printf "dn: cn=%s,ou=careteams,%s\n", id, base
			printf "objectClass: groupOfNames\ncn: %s\n", id
			for (j = 1; j <= k; j++)
				printf "member: uid=%s,ou=people,%s\n", m[j], base
			printf "\n"
		} else {
			printf "%s:", id
			for (j = 1; j <= k; j++)
				printf " %s", m[j]
			printf "\n"
		}
	}
}'
