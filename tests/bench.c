/* Login benchmark driver: N pam_start/pam_authenticate/pam_end cycles,
 * either in this process or as N fresh pamtester processes (every real login
 * is a new process), split over C concurrent workers. Prints one markdown
 * row: median and p99 wall per login, CPU per login, peak RSS, failures.
 *
 * usage: bench inproc|pamtester CONFDIR SERVICE USER TOKEN N C LABEL
 * pamtester runs with PAM_WRAPPER_SERVICE_DIR=CONFDIR (LD_PRELOAD pam_wrapper
 * yourself), or against /etc/pam.d when CONFDIR is "-". */
#include <fcntl.h>
#include <signal.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *token;

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	int i;

	(void)data;
	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			r[i].resp = strdup(token);
	}
	*resp = r;
	return PAM_SUCCESS;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double
tv_ms(struct timeval tv)
{
	return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stats {
	double cpu_ms;
	long maxrss_kb;
	long fails;
};

/* One login; returns its wall time. */
static double
one_login(int inproc, char **argv, struct stats *st)
{
	double t0 = now_ms();

	if (inproc) {
		struct pam_conv pc = { conv, NULL };
		pam_handle_t *pamh = NULL;
		int rc = pam_start_confdir(argv[3], argv[4], &pc, strcmp(argv[2], "-") ? argv[2] : NULL, &pamh);

		if (rc == PAM_SUCCESS)
			rc = pam_authenticate(pamh, 0);
		if (rc != PAM_SUCCESS)
			st->fails++;
		pam_end(pamh, rc);
	} else {
		struct rusage cru;
		int p[2], status = 0;
		pid_t pid;

		if (pipe(p) != 0)
			exit(2);
		pid = fork();
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);

			dup2(p[0], 0);
			dup2(null, 1);
			dup2(null, 2);
			close(p[1]);
			if (strcmp(argv[2], "-") != 0) {
				setenv("PAM_WRAPPER", "1", 1);
				setenv("PAM_WRAPPER_SERVICE_DIR", argv[2], 1);
			}
			execlp("pamtester", "pamtester", argv[3], argv[4], "authenticate", (char *)NULL);
			_exit(127);
		}
		close(p[0]);
		/* pam_permit never reads the token: a failed write is no failure */
		if (write(p[1], token, strlen(token)) >= 0)
			(void)!write(p[1], "\n", 1);
		close(p[1]);
		wait4(pid, &status, 0, &cru);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			st->fails++;
		st->cpu_ms += tv_ms(cru.ru_utime) + tv_ms(cru.ru_stime);
		if (cru.ru_maxrss > st->maxrss_kb)
			st->maxrss_kb = cru.ru_maxrss;
	}
	return now_ms() - t0;
}

int
main(int argc, char **argv)
{
	struct stats total = { 0, 0, 0 };
	double *wall;
	long n, conc, per, i, w, got = 0;
	int inproc, fds[64];
	pid_t pids[64];

	if (argc != 9)
		return 2;
	inproc = strcmp(argv[1], "inproc") == 0;
	signal(SIGPIPE, SIG_IGN);
	token = argv[5];
	n = strtol(argv[6], NULL, 10);
	conc = strtol(argv[7], NULL, 10);
	if (n < 1 || n > 100000 || conc < 1 || conc > 64)
		return 2;
	per = (n + conc - 1) / conc;
	wall = calloc((size_t)(per * conc), sizeof(*wall));
	if (wall == NULL)
		return 2;
	for (w = 0; w < conc; w++) {
		int p[2];

		if (pipe(p) != 0)
			return 2;
		pids[w] = fork();
		if (pids[w] == 0) {
			struct stats st = { 0, 0, 0 };
			struct rusage ru0, ru1;

			close(p[0]);
			getrusage(RUSAGE_SELF, &ru0);
			for (i = 0; i < per; i++) {
				double ms = one_login(inproc, argv, &st);

				if (write(p[1], &ms, sizeof(ms)) != sizeof(ms))
					_exit(2);
			}
			getrusage(RUSAGE_SELF, &ru1);
			if (inproc) {
				st.cpu_ms = tv_ms(ru1.ru_utime) - tv_ms(ru0.ru_utime) + tv_ms(ru1.ru_stime) -
				    tv_ms(ru0.ru_stime);
				st.maxrss_kb = ru1.ru_maxrss;
			}
			if (write(p[1], &st, sizeof(st)) != sizeof(st))
				_exit(2);
			_exit(0);
		}
		close(p[1]);
		fds[w] = p[0];
	}
	for (w = 0; w < conc; w++) {
		struct stats st;

		for (i = 0; i < per; i++) {
			if (read(fds[w], &wall[got], sizeof(double)) == sizeof(double))
				got++;
		}
		if (read(fds[w], &st, sizeof(st)) == sizeof(st)) {
			total.cpu_ms += st.cpu_ms;
			total.fails += st.fails;
			if (st.maxrss_kb > total.maxrss_kb)
				total.maxrss_kb = st.maxrss_kb;
		}
		close(fds[w]);
		waitpid(pids[w], NULL, 0);
	}
	if (got == 0)
		return 2;
	qsort(wall, (size_t)got, sizeof(*wall), cmp);
	printf("| %s | %s | %ld | %ld | %.2f | %.2f | %.2f | %ld | %ld |", argv[8], inproc ? "in-process" : "pamtester",
	    conc, got, wall[got / 2], wall[(long)((double)got * 0.99) < got ? (long)((double)got * 0.99) : got - 1],
	    total.cpu_ms / (double)got, total.maxrss_kb, total.fails);
	fflush(stdout);
	free(wall);
	return total.fails ? 1 : 0;
}
