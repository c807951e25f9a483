// vudo<->vudo Automerge sync, in memory: the C++ half of
// bench/automerge_sync.sh (which runs automerge-js<->automerge-js on the
// same documents in the same run and prints the ratios).
//
// usage: bench_automerge_sync A_FILE [B_FILE] [--repeat N] [--verbose]
// N times: loads A (and B, else B starts empty) from the file bytes, then
// syncs until both are silent (A generates first); prints one JSON line:
// {"load_ms", "sync_ms" (best of N; documents loaded), "total_ms" (best of
// N, load + sync), "bytes", "messages", "rounds", "changes", "converged"}.
// The engine loads lazily (the change graph is rebuilt on first need), so
// compare total_ms as well as sync_ms. --eager-history: rebuild the change
// graph (all change hashes, heads check) inside the load step, as
// automerge-js's load does; sync_ms then excludes it. --verbose: per-step
// times on stderr.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "automerge/document.h"
#include "automerge/sync/sync.h"

namespace {

using vudo::Bytes;
using vudo::automerge::Document;
using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "cannot read " << path << "\n";
    std::exit(2);
  }
  return Bytes((std::istreambuf_iterator<char>(in)),
               std::istreambuf_iterator<char>());
}

Document LoadOrDie(const Bytes& data, uint8_t actor_byte) {
  auto doc = Document::Load(data, vudo::automerge::ActorId(16, actor_byte));
  if (!doc) {
    std::cerr << "load failed: " << doc.error().ToString() << "\n";
    std::exit(2);
  }
  return std::move(*doc);
}

}  // namespace

int main(int argc, char** argv) {
  std::string a_file, b_file;
  int repeat = 1;
  bool verbose = false;
  bool eager = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--verbose") == 0) {
      verbose = true;
    } else if (std::strcmp(argv[i], "--eager-history") == 0) {
      eager = true;
    } else if (std::strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else if (a_file.empty()) {
      a_file = argv[i];
    } else {
      b_file = argv[i];
    }
  }
  if (a_file.empty()) {
    std::cerr << "usage: bench_automerge_sync A_FILE [B_FILE] [--repeat N] "
                 "[--eager-history] [--verbose]\n";
    return 2;
  }
  Bytes a_bytes = ReadFile(a_file);
  Bytes b_bytes = b_file.empty() ? Bytes() : ReadFile(b_file);

  double best_ms = 1e300, best_total_ms = 1e300, load_ms = 0;
  size_t bytes = 0, messages = 0, changes = 0;
  int rounds = 0;
  bool converged = false;
  for (int r = 0; r < repeat; ++r) {
    auto t0 = Clock::now();
    Document a = LoadOrDie(a_bytes, 0xa1);
    Document b = b_file.empty() ? Document(vudo::automerge::ActorId(16, 0xb2))
                                : LoadOrDie(b_bytes, 0xb2);
    if (eager && (!a.EnsureHistory() || !b.EnsureHistory())) {
      std::cerr << "history rebuild failed\n";
      return 1;
    }
    double this_load_ms = Ms(Clock::now() - t0);
    vudo::automerge::sync::SyncState sa, sb;
    bytes = messages = 0;
    rounds = -1;
    auto start = Clock::now();
    for (int round = 0; round < 100; ++round) {
      auto step = Clock::now();
      auto lap = [&](const char* what, size_t size) {
        if (!verbose) return;
        auto now = Clock::now();
        std::cerr << "  round " << round << " " << what << ": "
                  << Ms(now - step) << " ms, " << size << " B\n";
        step = now;
      };
      auto m1 = vudo::automerge::sync::GenerateSyncMessageBytes(a, sa);
      lap("A generates", m1 ? m1->size() : 0);
      if (m1) {
        bytes += m1->size();
        ++messages;
        if (!vudo::automerge::sync::ReceiveSyncMessageBytes(b, sb, *m1)) {
          std::cerr << "B rejected a message\n";
          return 1;
        }
        lap("B receives", 0);
      }
      auto m2 = vudo::automerge::sync::GenerateSyncMessageBytes(b, sb);
      lap("B generates", m2 ? m2->size() : 0);
      if (m2) {
        bytes += m2->size();
        ++messages;
        if (!vudo::automerge::sync::ReceiveSyncMessageBytes(a, sa, *m2)) {
          std::cerr << "A rejected a message\n";
          return 1;
        }
        lap("A receives", 0);
      }
      if (!m1 && !m2) {
        rounds = round;
        break;
      }
    }
    auto end = Clock::now();
    if (Ms(end - start) < best_ms) load_ms = this_load_ms;
    best_ms = std::min(best_ms, Ms(end - start));
    best_total_ms = std::min(best_total_ms, Ms(end - t0));
    converged = rounds >= 0 && a.Heads() == b.Heads();
    changes = b.NumChanges();
  }
  nlohmann::json out = {{"load_ms", load_ms},        {"sync_ms", best_ms},
                        {"total_ms", best_total_ms}, {"bytes", bytes},
                        {"messages", messages},      {"rounds", rounds},
                        {"changes", changes},        {"converged", converged}};
  std::cout << out.dump() << std::endl;
  return converged ? 0 : 1;
}
