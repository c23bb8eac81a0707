// netdelay: a userspace netem for kernels without sch_netem. It takes the packets iptables sends to an NFQUEUE
// queue, drops a fraction of them (loss) and accepts the others once they have been held for the delay (plus
// optional jitter). Used by the site tests on the link between the two data centers (test-network.ts).
//
//   netdelay -q QUEUE [-d DELAY_MS] [-j JITTER_MS] [-l LOSS_PERCENT] [-s SEED]
//
// Prints "ready" once the queue is bound (rules sent to it before that would drop every packet: no fail-open),
// a line of counters on SIGUSR1 and on exit (SIGTERM/SIGINT):
//   stats received=N accepted=N dropped=N held=N overflow=N lost=N
// received: packets read from the queue; dropped: by the loss draw; held: waiting for their release time;
// overflow: refused because the FIFO was full (never with the kernel queue capped at the FIFO's size);
// lost: netlink reads that failed with ENOBUFS (their packets stay queued in the kernel until exit).
#define _GNU_SOURCE  // ppoll
// <arpa/inet.h> before the netfilter headers: they pull in <linux/in.h>, which clashes with glibc's if it comes first.
#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

// The kernel queue is capped at the FIFO's size, so a packet the kernel hands over always has a place.
#define FIFO_SIZE 65536u
#define RCVBUF_BYTES (16u << 20)

struct held {
  uint64_t release_ns;
  uint32_t id;
};

static struct held fifo[FIFO_SIZE];
static uint32_t fifo_head, fifo_len;
// Release time of the newest packet: with jitter a packet is never released before an earlier one (as netem does
// with a rate), so the link never reorders and the verdicts always go out in arrival order.
static uint64_t last_release_ns;
static uint64_t delay_ns, jitter_ns, rng_state = 0x9e3779b97f4a7c15ull;
static double loss_fraction;
static unsigned long long n_received, n_accepted, n_dropped, n_overflow, n_lost;
static volatile sig_atomic_t stop_requested, stats_requested;

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

// xorshift64*: reproducible with -s, good enough to draw losses and jitter.
static uint64_t next_random(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dull;
}

static double uniform01(void) { return (double)(next_random() >> 11) / 9007199254740992.0; }

static void print_stats(void) {
  printf("stats received=%llu accepted=%llu dropped=%llu held=%u overflow=%llu lost=%llu\n", n_received, n_accepted,
         n_dropped, fifo_len, n_overflow, n_lost);
  fflush(stdout);
}

static int verdict(struct nfq_q_handle *qh, uint32_t id, uint32_t v) {
  if (nfq_set_verdict(qh, id, v, 0, NULL) < 0) {
    perror("netdelay: nfq_set_verdict");
    return -1;
  }
  return 0;
}

// Called for each packet the kernel queues: drop it now (loss) or hold it until its release time.
static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa, void *data) {
  (void)msg;
  (void)data;
  struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
  if (!ph) return 0;
  uint32_t id = ntohl(ph->packet_id);
  n_received++;
  if (loss_fraction > 0 && uniform01() < loss_fraction) {
    n_dropped++;
    return verdict(qh, id, NF_DROP);
  }
  if (fifo_len == FIFO_SIZE) {
    n_overflow++;
    return verdict(qh, id, NF_DROP);
  }
  uint64_t release = now_ns() + delay_ns;
  if (jitter_ns) release = release - jitter_ns + (uint64_t)(uniform01() * 2.0 * (double)jitter_ns);
  if (release < last_release_ns) release = last_release_ns;
  last_release_ns = release;
  fifo[(fifo_head + fifo_len) % FIFO_SIZE] = (struct held){ release, id };
  fifo_len++;
  return 0;
}

// Accepts every held packet whose time has come, oldest first.
static int release_due(struct nfq_q_handle *qh, uint64_t now) {
  while (fifo_len && fifo[fifo_head].release_ns <= now) {
    if (verdict(qh, fifo[fifo_head].id, NF_ACCEPT) < 0) return -1;
    n_accepted++;
    fifo_head = (fifo_head + 1) % FIFO_SIZE;
    fifo_len--;
  }
  return 0;
}

static void on_signal(int sig) {
  if (sig == SIGUSR1) stats_requested = 1;
  else stop_requested = 1;
}

static int parse_args(int argc, char **argv, int *queue) {
  int c;
  double d = 0, j = 0, l = 0;
  *queue = -1;
  while ((c = getopt(argc, argv, "q:d:j:l:s:")) != -1) {
    switch (c) {
    case 'q': *queue = atoi(optarg); break;
    case 'd': d = strtod(optarg, NULL); break;
    case 'j': j = strtod(optarg, NULL); break;
    case 'l': l = strtod(optarg, NULL); break;
    case 's': rng_state = strtoull(optarg, NULL, 0) | 1; break;
    default: return -1;
    }
  }
  if (*queue < 0 || *queue > 65535 || d < 0 || j < 0 || j > d || l < 0 || l > 100) return -1;
  delay_ns = (uint64_t)(d * 1e6);
  jitter_ns = (uint64_t)(j * 1e6);
  loss_fraction = l / 100.0;
  return 0;
}

static struct nfq_q_handle *bind_queue(struct nfq_handle *h, int queue) {
  struct nfq_q_handle *qh = nfq_create_queue(h, (uint16_t)queue, on_packet, NULL);
  if (!qh) return NULL;
  // Only the packet id is needed; no fail-open: a full queue drops (as a full link would) rather than bypassing
  // the delay. GSO packets are segmented by the kernel before queueing, so loss is per wire packet.
  if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0 || nfq_set_queue_maxlen(qh, FIFO_SIZE) < 0 ||
      nfq_set_queue_flags(qh, NFQA_CFG_F_FAIL_OPEN, 0) < 0) {
    nfq_destroy_queue(qh);
    return NULL;
  }
  return qh;
}

// Reads every message waiting on the socket; each one runs on_packet.
static int drain(struct nfq_handle *h, int fd) {
  static char buf[65536] __attribute__((aligned));
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n >= 0) {
      nfq_handle_packet(h, buf, (int)n);
      continue;
    }
    if (errno == EAGAIN || errno == EINTR) return 0;
    if (errno == ENOBUFS) {
      n_lost++;
      continue;
    }
    perror("netdelay: recv");
    return -1;
  }
}

// Waits for the next packet, the next release time or a signal (unblocked only inside ppoll: no lost wake-up).
static int run(struct nfq_handle *h, struct nfq_q_handle *qh, const sigset_t *waitmask) {
  int fd = nfq_fd(h);
  while (!stop_requested) {
    uint64_t now = now_ns();
    if (release_due(qh, now) < 0) return -1;
    if (stats_requested) {
      stats_requested = 0;
      print_stats();
    }
    struct timespec ts, *timeout = NULL;
    if (fifo_len) {
      uint64_t wait = fifo[fifo_head].release_ns - now;
      ts = (struct timespec){ (time_t)(wait / 1000000000ull), (long)(wait % 1000000000ull) };
      timeout = &ts;
    }
    struct pollfd pfd = { fd, POLLIN, 0 };
    int r = ppoll(&pfd, 1, timeout, waitmask);
    if (r < 0 && errno != EINTR) return perror("netdelay: ppoll"), -1;
    if (r > 0 && drain(h, fd) < 0) return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  int queue;
  if (parse_args(argc, argv, &queue) < 0) {
    fprintf(stderr, "usage: netdelay -q QUEUE [-d DELAY_MS] [-j JITTER_MS <= DELAY_MS] [-l LOSS_PERCENT] [-s SEED]\n");
    return 2;
  }
  sigset_t block, waitmask;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGUSR1);
  sigprocmask(SIG_BLOCK, &block, &waitmask);
  struct sigaction sa = { 0 };
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);

  struct nfq_handle *h = nfq_open();
  if (!h) return perror("netdelay: nfq_open"), 1;
  struct nfq_q_handle *qh = bind_queue(h, queue);
  if (!qh) return fprintf(stderr, "netdelay: cannot bind queue %d: %s\n", queue, strerror(errno)), 1;
  // A large receive buffer so that a burst of packets does not overflow the socket (ENOBUFS: counted as lost).
  nfnl_rcvbufsiz(nfq_nfnlh(h), RCVBUF_BYTES);
  printf("ready queue=%d delay_ms=%.3f jitter_ms=%.3f loss_percent=%.3f\n", queue, delay_ns / 1e6, jitter_ns / 1e6,
         loss_fraction * 100);
  fflush(stdout);
  int status = run(h, qh, &waitmask) < 0 ? 1 : 0;
  print_stats();
  nfq_destroy_queue(qh);
  nfq_close(h);
  return status;
}
