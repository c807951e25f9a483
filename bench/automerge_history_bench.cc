// Times the engine's change-graph rebuild after a lazy load:
//   bench_automerge_history FILE... [--repeat N] [--no-generic]
// For each file: Load (op set; change graph deferred), then EnsureHistory
// (every change re-encoded and hashed, heads checked). Prints one JSON line
// per file with the best of N of each step, and the same rebuild done by
// the generic path (every change reconstructed as a Change and encoded by
// EncodeChange, what EnsureHistory did before history.cc) in the same run.
#include <time.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "automerge/change.h"
#include "automerge/doc_impl.h"
#include "automerge/document.h"

namespace {

using Clock = std::chrono::steady_clock;

// CPU time of this thread (less sensitive than wall time to the other
// processes of a loaded machine).
double CpuMs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

vudo::Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "cannot read " << path << "\n";
    std::exit(2);
  }
  return vudo::Bytes((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> files;
  int repeat = 3;
  bool generic = true;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--no-generic") == 0)
      generic = false;
    else if (std::strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
      repeat = std::max(1, std::atoi(argv[++i]));
    else
      files.push_back(argv[i]);
  }
  if (files.empty()) {
    std::cerr << "usage: bench_automerge_history FILE... [--repeat N] "
                 "[--no-generic]\n";
    return 2;
  }
  for (const auto& f : files) {
    vudo::Bytes data = ReadFile(f);
    double best_load = 1e300, best_hist = 1e300, best_generic = 1e300;
    double best_hist_cpu = 1e300;
    size_t changes = 0;
    for (int r = 0; r < repeat; ++r) {
      auto t0 = Clock::now();
      auto doc = vudo::automerge::Document::Load(data, vudo::Bytes(16, 0xee));
      auto t1 = Clock::now();
      if (!doc) {
        std::cerr << f << ": " << doc.error().ToString() << "\n";
        return 1;
      }
      auto heads = doc->Heads();  // from the chunk (lazy)
      const double c1 = CpuMs();
      auto st = doc->EnsureHistory();
      const double c2 = CpuMs();
      auto t2 = Clock::now();
      if (!st) {
        std::cerr << f << ": " << st.error().ToString() << "\n";
        return 1;
      }
      if (doc->Heads() != heads) {
        std::cerr << f << ": heads differ after the rebuild\n";
        return 1;
      }
      changes = doc->NumChanges();
      best_load = std::min(best_load, Ms(t1 - t0));
      best_hist = std::min(best_hist, Ms(t2 - t1));
      best_hist_cpu = std::min(best_hist_cpu, c2 - c1);
      if (!generic) continue;
      // The generic rebuild of the same document chunk(s).
      auto t3 = Clock::now();
      size_t pos = 0;
      while (pos < data.size()) {
        auto c = vudo::automerge::ReadChunk(vudo::ByteSpan(data).subspan(pos));
        if (!c) break;
        pos += c->encoded_size;
        if (c->type != vudo::automerge::ChunkType::kDocument) continue;
        vudo::automerge::Document::Impl impl(vudo::Bytes(16, 0xee));
        auto st2 = impl.LoadDocumentChunk(
            c->body, vudo::automerge::Document::Impl::LoadMode::kHistoryOnly);
        if (!st2 || impl.records.size() != changes) {
          std::cerr << f << ": generic rebuild differs\n";
          return 1;
        }
      }
      best_generic = std::min(best_generic, Ms(Clock::now() - t3));
    }
    nlohmann::json out = {
        {"file", f},
        {"changes", changes},
        {"load_ms", best_load},
        {"history_ms", best_hist},
        {"history_cpu_ms", best_hist_cpu},
        {"generic_history_ms", best_generic},
        {"speedup", generic ? best_generic / best_hist : 0.0}};
    std::cout << out.dump() << std::endl;
  }
  return 0;
}
