// bench_net_tcp: one TCP connection over loopback moving N bytes one way,
// the baseline bench/net.sh compares vudo's one-stream QUIC bulk against
// in the same run. Prints {"bytes": N, "seconds": s, "gib_per_s": x}.
// Usage: bench_net_tcp [BYTES]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  const uint64_t total =
      argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1ull << 30;
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (lfd < 0 || bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      listen(lfd, 1) != 0 ||
      getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    std::perror("tcp listen");
    return 1;
  }
  uint64_t received = 0;
  std::thread server([&] {
    int fd = accept(lfd, nullptr, nullptr);
    std::vector<char> buf(1 << 20);
    for (;;) {
      ssize_t n = read(fd, buf.data(), buf.size());
      if (n <= 0) break;
      received += static_cast<uint64_t>(n);
    }
    close(fd);
  });
  auto t0 = std::chrono::steady_clock::now();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("tcp connect");
    return 1;
  }
  std::vector<char> chunk(1 << 20, 'x');
  uint64_t sent = 0;
  while (sent < total) {
    size_t want =
        static_cast<size_t>(std::min<uint64_t>(chunk.size(), total - sent));
    ssize_t n = write(fd, chunk.data(), want);
    if (n <= 0) {
      std::perror("tcp write");
      return 1;
    }
    sent += static_cast<uint64_t>(n);
  }
  shutdown(fd, SHUT_WR);
  server.join();
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  close(fd);
  close(lfd);
  if (received != total) {
    std::fprintf(stderr, "tcp: received %llu of %llu\n",
                 static_cast<unsigned long long>(received),
                 static_cast<unsigned long long>(total));
    return 1;
  }
  std::printf("{\"bytes\": %llu, \"seconds\": %.6f, \"gib_per_s\": %.4f}\n",
              static_cast<unsigned long long>(total), secs,
              static_cast<double>(total) / secs / (1 << 30));
  return 0;
}
