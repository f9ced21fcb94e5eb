// SPDX-License-Identifier: Apache-2.0
/* sluiced, the node agent: flags, then one epoll loop over the store's watch, an rtnetlink
 * monitor, timers (lease renewal, retries with backoff, the monitor's debounce) and signals.
 * No threads; idle, it sleeps in epoll_wait. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include <libmnl/libmnl.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "overlay/vxdev.h"
#include "store/store.h"
#include "subnet/files.h"
#include "sluiced.h"

#define AGENT_VERSION "0.1.0"

static const char usage[] =
	"Usage: sluiced [FLAGS]\n"
	"\n"
	"The node agent: acquires and renews this node's subnet lease, keeps the VXLAN device,\n"
	"one peer per other node's lease and the masquerade table in step with the store,\n"
	"writes subnet.env, the lease state, the conflist and its status file\n"
	"(<subnet-file without .env>.agent.json). Logs to stderr, one line per change.\n"
	"With NetworkPolicy (the default), it keeps the node's table inet sluice_policy in step\n"
	"with the namespaces, pods, policies and endpoints of the store, and writes the revision\n"
	"applied to <prefix>/agents/<node>; the packets it drops (logged to NFLOG group 2718)\n"
	"go to <subnet-file's directory>/drops.json, the last 256 (`sluicectl drops`), and it\n"
	"serves sluice-nft-policy's ADD and DEL on <that directory>/policy.sock (removed at exit).\n"
	"SIGTERM/SIGINT: exits 0, leaving the data plane and the lease in place.\n"
	"SIGHUP: reads the network config again and applies it.\n"
	"\n"
	"  --store URL                  default $SLUICE_STORE, else " STORE_DEFAULT_URL "\n"
	"  --prefix P                   default $SLUICE_PREFIX, else " AGENT_DEFAULT_PREFIX "\n"
	"  --iface IF                   the underlay interface (default: the one holding\n"
	"                               --public-ip, else the one of the IPv4 default route)\n"
	"  --public-ip IP               the node's IPv4 address (default: IF's first global one)\n"
	"  --public-ipv6 IP             the node's IPv6 address, with EnableIPv6\n"
	"  --subnet-file F              default " SUBNET_ENV_DEFAULT "\n"
	"  --cni-conf-dir D             default " SUBNET_CNI_DIR_DEFAULT "\n"
	"  --cni-conf-template T        a conflist whose plugin with \"ipam\" gets the lease\n"
	"  --node-name N                recorded in the lease (default: the hostname)\n"
	"  --ttl S                      the lease's time to live in seconds (default 86400)\n"
	"  --subnet-lease-renew-margin MIN\n"
	"                               renew this many minutes before expiry (default 60,\n"
	"                               at most a third of the TTL)\n"
	"  --ip-masq, --no-ip-masq      masquerade pod traffic leaving the cluster network in\n"
	"                               nftables table inet sluice_overlay (default on)\n"
	"  --network-policy, --no-network-policy\n"
	"                               keep the node's NetworkPolicy table and put\n"
	"                               sluice-nft-policy into the conflist (default on)\n"
	"  --local-store URL            the node-local dir:// store sluice-nft-policy reads\n"
	"                               (default: --store when it is dir://, else\n"
	"                               " STORE_DEFAULT_URL "); with another --store, the\n"
	"                               policy objects are mirrored into it\n"
	"  --log-level L                error, warn, info (default) or debug\n"
	"  --help, --version\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("sluiced: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'sluiced --help'.\n", stderr);
	return 2;
}

static bool name_ok(const char *s, size_t max)
{
	return *s && strlen(s) <= max &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") ==
		       strlen(s);
}

static int num_flag(const char *flag, const char *arg, long long min, long long max, int64_t *ret)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (*arg < '0' || *arg > '9' || *end || errno || v < min || v > max)
		return usage_error("%s '%s': needs a whole number between %lld and %lld", flag, arg,
				   min, max);
	*ret = v;
	return 0;
}

static int ip_flag(const char *flag, const char *arg, int family, struct ip_addr *ret)
{
	if (ip_parse(arg, ret) < 0 || ret->family != family)
		return usage_error("%s '%s': not an %s address", flag, arg,
				   family == AF_INET ? "IPv4" : "IPv6");
	return 0;
}

static int path_flag(const char *flag, const char *arg, const char **ret)
{
	if (!*arg)
		return usage_error("%s needs a path", flag);
	*ret = arg;
	return 0;
}

static int parse_opt(int o, const char *arg, struct agent_opts *a, const char **level)
{
	switch (o) {
	case 'S':
		return path_flag("--store", arg, &a->store_url);
	case 'P':
		a->prefix = arg;
		return 0;
	case 'i':
		if (!name_ok(arg, IFNAMSIZ - 1))
			return usage_error("--iface '%s': not an interface name", arg);
		a->iface = arg;
		return 0;
	case 'p':
		return ip_flag("--public-ip", arg, AF_INET, &a->pub);
	case '6':
		return ip_flag("--public-ipv6", arg, AF_INET6, &a->pub6);
	case 's':
		return path_flag("--subnet-file", arg, &a->subnet_file);
	case 'c':
		return path_flag("--cni-conf-dir", arg, &a->cni_dir);
	case 'T':
		return path_flag("--cni-conf-template", arg, &a->tmpl_path);
	case 'n':
		if (!name_ok(arg, SUBNET_NODE_NAME_MAX))
			return usage_error(
				"--node-name '%s': not a node name (letters, digits, '.', '-', '_')",
				arg);
		snprintf(a->node_name, sizeof(a->node_name), "%s", arg);
		return 0;
	case 't':
		return num_flag("--ttl", arg, 1, 315360000, &a->ttl);
	case 'm':
		if (num_flag("--subnet-lease-renew-margin", arg, 0, 5256000, &a->margin))
			return 2;
		a->margin *= 60;
		return 0;
	case 'M':
	case 'N':
		a->ipmasq = o == 'M';
		return 0;
	case 'Y':
	case 'y':
		a->policy = o == 'Y';
		return 0;
	case 'L':
		if (strncmp(arg, "dir://", 6))
			return usage_error("--local-store '%s': must be a dir:// store "
					   "(sluice-nft-policy reads it)",
					   arg);
		a->local_url = arg;
		return 0;
	case 'l':
		if (log_level_parse(arg) < 0)
			return usage_error("--log-level '%s': one of error, warn, info, debug",
					   arg);
		*level = arg;
		return 0;
	}
	return 2;
}

/* "/p/" names the network "/p" names, as in sluicectl: keys are built as "<prefix>/..." */
static int prefix_flag(struct agent_opts *a)
{
	size_t n = strlen(a->prefix);

	if (a->prefix[0] != '/')
		return usage_error("--prefix must start with '/': '%s'", a->prefix);
	while (n > 1 && a->prefix[n - 1] == '/')
		n--;
	if (n == 1 || n >= sizeof(a->prefix_buf))
		return usage_error("--prefix must name a key below '/': '%s'", a->prefix);
	memcpy(a->prefix_buf, a->prefix, n);
	a->prefix_buf[n] = '\0';
	a->prefix = a->prefix_buf;
	return 0;
}

/* 0, 1 after --help or --version, or 2 after a usage error */
static int parse_flags(int argc, char **argv, struct agent_opts *a, const char **level)
{
	static const struct option opts[] = {
		{"store", required_argument, NULL, 'S'},
		{"prefix", required_argument, NULL, 'P'},
		{"iface", required_argument, NULL, 'i'},
		{"public-ip", required_argument, NULL, 'p'},
		{"public-ipv6", required_argument, NULL, '6'},
		{"subnet-file", required_argument, NULL, 's'},
		{"cni-conf-dir", required_argument, NULL, 'c'},
		{"cni-conf-template", required_argument, NULL, 'T'},
		{"node-name", required_argument, NULL, 'n'},
		{"ttl", required_argument, NULL, 't'},
		{"subnet-lease-renew-margin", required_argument, NULL, 'm'},
		{"ip-masq", no_argument, NULL, 'M'},
		{"no-ip-masq", no_argument, NULL, 'N'},
		{"network-policy", no_argument, NULL, 'Y'},
		{"no-network-policy", no_argument, NULL, 'y'},
		{"local-store", required_argument, NULL, 'L'},
		{"log-level", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	const char *env;
	int o;

	a->store_url = (env = secure_getenv("SLUICE_STORE")) && *env ? env : STORE_DEFAULT_URL;
	a->prefix = (env = secure_getenv("SLUICE_PREFIX")) && *env ? env : AGENT_DEFAULT_PREFIX;
	a->subnet_file = SUBNET_ENV_DEFAULT;
	a->cni_dir = SUBNET_CNI_DIR_DEFAULT;
	a->ttl = SUBNET_TTL_DEFAULT;
	a->margin = 60 * 60;
	a->ipmasq = true;
	a->policy = true;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (o == 'h')
			return fputs(usage, stdout), 1;
		if (o == 'V')
			return printf("sluiced %s\n", AGENT_VERSION), 1;
		if (o == ':')
			return usage_error("%s needs a value", argv[optind - 1]);
		if (o == '?')
			return usage_error("unknown flag '%s'", argv[optind - 1]);
		if (parse_opt(o, optarg, a, level))
			return 2;
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (prefix_flag(a))
		return 2;
	if (!a->local_url)
		a->local_url =
			strncmp(a->store_url, "dir://", 6) ? STORE_DEFAULT_URL : a->store_url;
	if (!a->node_name[0] && gethostname(a->node_name, sizeof(a->node_name) - 1) < 0)
		a->node_name[0] = '\0';
	return 0;
}

/* The subnet file's directory, absolute (the plugin's runDir: it runs elsewhere), made
 * now: policy.lock is there before the lease's files are */
static int run_dir(struct agent_opts *o)
{
	char *copy = strdup(o->subnet_file), *dir;

	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	if (fs_mkdir_p(dir, 0755) < 0)
		log_warn("making %s: %s", dir, strerror(errno));
	o->run_dir = realpath(dir, NULL);
	if (!o->run_dir)
		o->run_dir = strdup(dir);
	free(copy);
	return o->run_dir ? 0 : -ENOMEM;
}

void agent_timer_ms(int tfd, int64_t ms)
{
	struct itimerspec its = {0};

	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (ms % 1000) * 1000000;
	(void)timerfd_settime(tfd, 0, &its, NULL);
}

void agent_schedule_retry(struct agent *a, unsigned int need)
{
	a->need |= need;
	agent_timer_ms(a->retry_tfd, a->backoff_ms);
	a->backoff_ms =
		a->backoff_ms * 2 > AGENT_BACKOFF_MAX_MS ? AGENT_BACKOFF_MAX_MS : a->backoff_ms * 2;
}

void agent_need_now(struct agent *a, unsigned int need)
{
	a->need |= need;
	agent_timer_ms(a->retry_tfd, 1);
}

void agent_schedule_resync(struct agent *a)
{
	struct itimerspec cur;

	/* one resync for a burst: the timer is left running when armed */
	if (timerfd_gettime(a->debounce_tfd, &cur) == 0 &&
	    (cur.it_value.tv_sec || cur.it_value.tv_nsec))
		return;
	agent_timer_ms(a->debounce_tfd, AGENT_DEBOUNCE_MS);
}

static int read_tmpl(struct agent *a)
{
	FILE *f;
	char *buf;
	size_t n;

	if (!a->o.tmpl_path)
		return 0;
	f = fopen(a->o.tmpl_path, "re");
	if (!f) {
		log_error("--cni-conf-template %s: %s", a->o.tmpl_path, strerror(errno));
		return -errno;
	}
	buf = malloc(STORE_VALUE_MAX + 1);
	n = buf ? fread(buf, 1, STORE_VALUE_MAX, f) : 0;
	fclose(f);
	if (!buf)
		return -ENOMEM;
	buf[n] = '\0';
	free(a->tmpl);
	a->tmpl = buf;
	a->tmpl_len = n;
	return 0;
}

/* SIGHUP: the config again; a changed VNI leaves the old devices behind us, a lease the
 * config no longer takes is acquired anew */
static int reload(struct agent *a)
{
	uint32_t vni = a->conf.vni;
	int r;

	(void)read_tmpl(a);
	r = agent_load_config(a);
	/* gone or invalid: the old one kept; a store that does not answer: again later */
	if (r < 0)
		return a->store_up ? 0 : r;
	log_info("network config read again");
	if (vni != a->conf.vni) {
		struct err e = {0};

		(void)overlay_dev_del(&a->nl, AF_INET, vni, &e);
		(void)overlay_dev_del(&a->nl, AF_INET6, vni, &e);
		a->dev4 = a->dev6 = 0;
		agent_peers_free(a);
	}
	if (a->have_lease && !subnet_conf_compat(&a->conf, &a->lease.subnet, &a->lease.subnet6)) {
		log_warn("lease %s does not fit the new config: acquiring again", a->lease.key);
		a->need |= AGENT_NEED_REACQUIRE;
	} else if (a->have_lease) {
		(void)agent_dataplane(a);
		(void)agent_write_files(a);
	}
	a->need |= AGENT_NEED_RELIST;
	return 0;
}

/* Does what a->need says, in order; what fails is retried with backoff */
/* The policy side's pending work: true when some of it failed (retried) */
static bool run_policy(struct agent *a)
{
	int t;

	if ((a->need & AGENT_NEED_POLICY) && agent_policy_start(a) < 0)
		return true;
	a->need &= ~(AGENT_NEED_POLICY | AGENT_NEED_POLICY_APPLY);
	if (agent_policy_sync(a, &t) < 0)
		return true;
	a->need &= ~AGENT_NEED_POLICY_STATUS;
	if (agent_policy_status(a) < 0)
		return true;
	return false;
}

static void run_pending(struct agent *a)
{
	bool pfail = false;

	/* the table needs neither the config nor the lease: it goes first, on its own */
	if (a->need & (AGENT_NEED_POLICY | AGENT_NEED_POLICY_APPLY | AGENT_NEED_POLICY_STATUS))
		pfail = run_policy(a);
	if (a->need & AGENT_NEED_START) {
		/* a lease already held is not acquired again: a failed listing retries the
		 * listing only */
		if ((!a->have_conf && agent_load_config(a) < 0) ||
		    (!a->have_lease && agent_acquire(a) < 0) || agent_relist(a) < 0)
			goto retry;
		a->need &= ~(AGENT_NEED_START | AGENT_NEED_CONFIG | AGENT_NEED_RELIST);
		log_info("running: lease %s, %zu peers, revision %lld", a->lease.key, a->npeers,
			 (long long)a->rev);
	}
	if (a->need & AGENT_NEED_CONFIG) {
		if (reload(a) < 0)
			goto retry;
		a->need &= ~AGENT_NEED_CONFIG;
	}
	if (a->need & AGENT_NEED_REACQUIRE) {
		if (agent_acquire(a) < 0)
			goto retry;
		a->need &= ~AGENT_NEED_REACQUIRE;
	}
	if (a->need & AGENT_NEED_RELIST) {
		if (agent_relist(a) < 0)
			goto retry;
		a->need &= ~AGENT_NEED_RELIST;
	}
	if (a->need & AGENT_NEED_RENEW) {
		if (agent_renew(a) < 0)
			goto retry;
		a->need &= ~AGENT_NEED_RENEW;
	}
	/* a relist may have found the lease gone */
	if (a->need & AGENT_NEED_REACQUIRE || pfail)
		goto retry;
	a->backoff_ms = AGENT_BACKOFF_MIN_MS;
	return;
retry:
	agent_schedule_retry(a, 0);
}

enum { EV_SIGNAL = 1, EV_MONITOR, EV_RENEW, EV_RETRY, EV_DEBOUNCE, EV_WATCH, EV_PWATCH, EV_DROPS };
/* policy.sock: the listener, its deadline timer, then one tag per connection */
#define EV_SOCK 32

static int ep_add(int ep, int fd, uint32_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int setup(struct agent *a)
{
	sigset_t set;
	int r;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	a->ep = epoll_create1(EPOLL_CLOEXEC);
	a->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	a->renew_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	a->retry_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	a->debounce_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (a->ep < 0 || a->sigfd < 0 || a->renew_tfd < 0 || a->retry_tfd < 0 ||
	    a->debounce_tfd < 0)
		return -errno;
	if ((r = nl_open(&a->nl, -1)) < 0 ||
	    ((a->o.ipmasq || a->o.policy) && (r = nft_open(&a->nft, -1)) < 0) ||
	    (r = agent_monitor_open(a)) < 0)
		return r;
	if ((r = ep_add(a->ep, a->sigfd, EV_SIGNAL)) < 0 ||
	    (r = ep_add(a->ep, a->monfd, EV_MONITOR)) < 0 ||
	    (r = ep_add(a->ep, a->renew_tfd, EV_RENEW)) < 0 ||
	    (r = ep_add(a->ep, a->retry_tfd, EV_RETRY)) < 0 ||
	    (r = ep_add(a->ep, a->debounce_tfd, EV_DEBOUNCE)) < 0)
		return r;
	if (a->o.policy) /* without it (logged): no drops.json */
		(void)agent_drops_start(a, EV_DROPS);
	if (a->o.policy) /* without it (logged): the plugin's own path */
		(void)agent_sock_start(a, EV_SOCK);
	return 0;
}

/* A watch's descriptor in the epoll set follows the watch: a new one after each listing */
struct followed {
	int fd;
	unsigned int gen;
};

static void follow(struct agent *a, struct followed *f, const struct store_watch *w,
		   unsigned int gen, uint32_t tag)
{
	int cur = w ? store_watch_fd(w) : -1;

	if (cur == f->fd && gen == f->gen)
		return;
	/* a new generation: the old watch was closed (which took its fd out of the epoll set),
	 * and its number may already be a new fd's (a policy.sock connection): never DEL it */
	if (f->fd >= 0 && gen == f->gen)
		(void)epoll_ctl(a->ep, EPOLL_CTL_DEL, f->fd, NULL);
	if (cur >= 0 && ep_add(a->ep, cur, tag) < 0)
		log_error("epoll: %s", strerror(errno));
	f->fd = cur;
	f->gen = gen;
}

static void follow_watches(struct agent *a, struct followed f[3])
{
	follow(a, &f[0], a->watch, a->watch_gen, EV_WATCH);
	follow(a, &f[1], a->pol.watch, a->pol.gen, EV_PWATCH);
	follow(a, &f[2], a->pol.lwatch, a->pol.gen, EV_PWATCH);
}

static void drain_timer(int fd)
{
	uint64_t n;

	(void)!read(fd, &n, sizeof(n));
}

/* Returns true to go on, false on SIGTERM/SIGINT */
static bool on_signal(struct agent *a)
{
	struct signalfd_siginfo si;

	while (read(a->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: reading the network config again");
			a->need |= AGENT_NEED_CONFIG;
			run_pending(a);
			continue;
		}
		log_info(
			"%s: exiting, leaving the device, the peers, the masquerade table%s and the "
			"lease in place",
			strsignal((int)si.ssi_signo), a->o.policy ? ", the policy table" : "");
		return false;
	}
	return true;
}

static bool handle(struct agent *a, uint32_t tag)
{
	switch (tag) {
	case EV_SIGNAL:
		return on_signal(a);
	case EV_MONITOR:
		if (agent_monitor_read(a))
			agent_schedule_resync(a);
		break;
	case EV_RENEW:
		drain_timer(a->renew_tfd);
		a->need |= AGENT_NEED_RENEW;
		run_pending(a);
		break;
	case EV_RETRY:
		drain_timer(a->retry_tfd);
		run_pending(a);
		break;
	case EV_DEBOUNCE:
		drain_timer(a->debounce_tfd);
		log_debug("resync after a change in the kernel");
		/* failed (logged): tried again, with backoff, until it goes through */
		if (agent_resync(a) < 0) {
			agent_timer_ms(a->debounce_tfd, a->resync_backoff_ms);
			a->resync_backoff_ms = a->resync_backoff_ms * 2 > AGENT_BACKOFF_MAX_MS
						       ? AGENT_BACKOFF_MAX_MS
						       : a->resync_backoff_ms * 2;
		} else {
			a->resync_backoff_ms = AGENT_BACKOFF_MIN_MS;
		}
		break;
	case EV_DROPS:
		agent_drops_event(a);
		break;
	default:
		if (tag >= EV_SOCK && tag < EV_SOCK + 2 + AGENT_SOCK_CONNS) {
			int64_t rev = a->pol.rev;

			agent_sock_event(a, tag);
			/* agents/<node> when a request moved R; after a failed put, only its retry
			 * puts again (a blocking put per request would stall the loop) */
			if (a->pol.rev > rev && !(a->need & AGENT_NEED_POLICY_STATUS))
				(void)agent_policy_status(a);
		}
		break;
	}
	return true;
}

static int loop(struct agent *a)
{
	struct epoll_event evs[8];
	struct followed f[3] = {{-1, 0}, {-1, 0}, {-1, 0}};
	int timeout = -1, pt, n = 0, i;
	bool run = true, woke = false;

	a->need = AGENT_NEED_START | (a->o.policy ? AGENT_NEED_POLICY : 0);
	run_pending(a);
	while (run) {
		follow_watches(a, f);
		if (a->watch && agent_watch_drain(a, &timeout) == 0 && woke)
			agent_store_probe(a);
		if (!a->watch)
			timeout = -1;
		/* the policy table: the events of this wake-up in one batch */
		if (agent_policy_sync(a, &pt) == 0 && pt >= 0 && (timeout < 0 || pt < timeout))
			timeout = pt;
		follow_watches(a, f);
		if (a->status_dirty && a->have_lease)
			(void)agent_status_write(a);
		if (a->trim) {
			/* after the status file of the burst: what both freed goes back */
			malloc_trim(0);
			a->trim = false;
		}
		n = epoll_wait(a->ep, evs, 8, timeout);
		if (n < 0 && errno != EINTR) {
			log_error("epoll_wait: %s", strerror(errno));
			return 1;
		}
		woke = n == 0;
		for (i = 0; i < n && run; i++) {
			woke |= evs[i].data.u32 == EV_WATCH;
			run = handle(a, evs[i].data.u32);
		}
	}
	return 0;
}

static void agent_done(struct agent *a)
{
	agent_policy_done(a);
	if (a->watch)
		store_watch_close(a->watch);
	agent_peers_free(a);
	agent_drops_stop(a);
	agent_sock_stop(a);
	if (a->have_lease)
		subnet_lease_done(&a->lease);
	if (a->have_conf)
		subnet_conf_done(&a->conf);
	if (a->mon)
		mnl_socket_close(a->mon);
	nl_close(&a->nl);
	nft_close(&a->nft);
	store_close(a->store);
	free(a->subnets);
	free(a->tmpl);
	free(a->o.run_dir);
	/* monfd is the monitor socket's, closed with it */
	int fds[] = {a->ep, a->sigfd, a->renew_tfd, a->retry_tfd, a->debounce_tfd};

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int main(int argc, char **argv)
{
	struct agent a = {.ep = -1,
			  .sigfd = -1,
			  .monfd = -1,
			  .renew_tfd = -1,
			  .retry_tfd = -1,
			  .debounce_tfd = -1,
			  .backoff_ms = AGENT_BACKOFF_MIN_MS,
			  .resync_backoff_ms = AGENT_BACKOFF_MIN_MS};
	const char *level = "info";
	struct err e = {0};
	int r;

	/* A long-lived agent whose big allocations (a watch response of a thousand leases, its
	 * parse, a netlink batch) come in bursts: fixed thresholds keep glibc from raising the
	 * mmap threshold after the first burst (which would leave the next one's buffers in a
	 * heap it cannot give back), and one arena serves libcurl's resolver thread too. */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
	mallopt(M_ARENA_MAX, 1);
	log_set_context("sluiced", NULL, NULL);
	r = parse_flags(argc, argv, &a.o, &level);
	if (r)
		return r == 1 ? 0 : 2;
	log_setup(level, -1);
	a.started = time(NULL);
	a.store_up = true;
	a.store = store_open(a.o.store_url, &e);
	if (!a.store) {
		fprintf(stderr, "sluiced: %s\n", e.msg);
		return 1;
	}
	if (asprintf(&a.subnets, "%.*s/subnets/", (int)subnet_prefix_len(a.o.prefix), a.o.prefix) <
		    0 ||
	    read_tmpl(&a) < 0 || run_dir(&a.o) < 0 || agent_policy_init(&a) < 0) {
		agent_done(&a);
		return 1;
	}
	r = setup(&a);
	if (r < 0) {
		fprintf(stderr, "sluiced: setting up: %s\n", strerror(-r));
		agent_done(&a);
		return 1;
	}
	log_info("starting: store %s, prefix %s, subnet file %s", store_url(a.store), a.o.prefix,
		 a.o.subnet_file);
	if (a.o.policy)
		log_info("network policy: table inet %s, local store %s%s", POL_TABLE,
			 a.o.local_url,
			 a.pol.local ? " (a mirror of the store's policy objects)" : "");
	r = loop(&a);
	agent_done(&a);
	return r;
}
