/*
 * syslog_sink.c - test helper: a stand-in syslog daemon.  Binds a datagram
 * socket at PATH, then prints each message it receives on one line
 * (bytes outside printable ASCII as \xNN, so the test sees exactly what
 * arrived) until COUNT messages arrived or nothing came for TIMEOUT_MS.
 * usage: syslog_sink PATH COUNT TIMEOUT_MS READY_FILE
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_un sa;
	struct pollfd pfd;
	char buf[8192];
	long want, got = 0, timeout;
	ssize_t n, i;
	FILE *ready;
	int fd;

	if (argc != 5)
		return 2;
	want = strtol(argv[2], NULL, 10);
	timeout = strtol(argv[3], NULL, 10);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof(sa.sun_path))
		return 2;
	memcpy(sa.sun_path, argv[1], strlen(argv[1]) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	unlink(argv[1]);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror(argv[1]);
		return 1;
	}
	if ((ready = fopen(argv[4], "w")) == NULL || fclose(ready) != 0)
		return 1;
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (got < want && poll(&pfd, 1, (int)timeout) == 1) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return 1;
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)buf[i];

			if (c >= 0x20 && c < 0x7f)
				putchar(c);
			else
				printf("\\x%02x", c);
		}
		putchar('\n');
		got++;
	}
	return 0;
}
