// Times vudo's automerge-repo message codec on message sets given as files of
// hex lines (one CBOR message per line): full typed decode (validation,
// documentId check) and encode, best of --repeat runs. Prints one JSON object
// per set: {"name", "messages", "bytes", "decode_ns", "encode_ns"} where the
// times are per pass over the whole set. Driven by bench/repo_messages.sh.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/encoding.h"
#include "repo/messages.h"

namespace {

using Clock = std::chrono::steady_clock;

std::vector<vudo::Bytes> ReadSet(const std::string& file) {
  std::ifstream in(file);
  std::vector<vudo::Bytes> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto b = vudo::HexDecode(line);
    if (!b) {
      std::cerr << file << ": bad hex line\n";
      std::exit(1);
    }
    out.push_back(std::move(*b));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int repeat = 5, iterations = 200;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
      iterations = std::max(1, std::atoi(argv[++i]));
    } else {
      files.push_back(argv[i]);
    }
  }
  if (files.empty()) {
    std::cerr << "usage: bench_repo_messages SET_FILE... [--iterations N] "
                 "[--repeat N]\n";
    return 2;
  }
  for (const std::string& file : files) {
    std::vector<vudo::Bytes> set = ReadSet(file);
    std::vector<vudo::repo::Message> decoded;
    size_t bytes = 0;
    for (const auto& b : set) {
      auto m = vudo::repo::DecodeMessage(b);
      if (!m) {
        std::cerr << file << ": " << m.error().ToString() << "\n";
        return 1;
      }
      decoded.push_back(std::move(*m));
      bytes += b.size();
    }
    double best_decode = 1e300, best_encode = 1e300;
    size_t sink = 0;
    for (int r = 0; r < repeat; ++r) {
      auto t0 = Clock::now();
      for (int i = 0; i < iterations; ++i) {
        for (const auto& b : set) {
          auto m = vudo::repo::DecodeMessage(b);
          sink += m.has_value();
        }
      }
      auto t1 = Clock::now();
      // Steady state of a sender: one reused output buffer.
      vudo::Bytes out;
      for (int i = 0; i < iterations; ++i) {
        for (const auto& m : decoded) {
          out.clear();
          vudo::repo::EncodeMessageTo(m, out);
          sink += out.size();
        }
      }
      auto t2 = Clock::now();
      best_decode =
          std::min(best_decode,
                   std::chrono::duration<double, std::nano>(t1 - t0).count() /
                       iterations);
      best_encode =
          std::min(best_encode,
                   std::chrono::duration<double, std::nano>(t2 - t1).count() /
                       iterations);
    }
    nlohmann::json out = {{"name", file},
                          {"messages", set.size()},
                          {"bytes", bytes},
                          {"decode_ns", best_decode},
                          {"encode_ns", best_encode},
                          {"sink", sink}};
    std::cout << out.dump() << std::endl;
  }
  return 0;
}
