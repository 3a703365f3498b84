// main() for fuzz targets built without libFuzzer (GCC, the normal CI build). Two jobs:
//
//  1. Replay: runs LLVMFuzzerTestOneInput over every file and directory given, so every
//     seed corpus also runs in the normal ctest suite.
//  2. Mutate (--mutate-seconds=S > 0): then keeps feeding the target inputs derived from
//     the corpus for S seconds: bit flips, interesting bytes and tokens, erased, duplicated
//     and spliced ranges, growth up to --max-len (the largest input the real decoder can
//     be given), huge strings, and nesting thousands of levels deep (structure-aware when
//     the input is JSON). No coverage feedback (that needs Clang's libFuzzer, see
//     KUBESYNC_FUZZ), but deterministic: input i of --seed=N is always the same bytes.
//
// Without sanitizers a failure is a crash or an abort() of the target's own checks; the
// driver then writes the input to <--crash-dir>/crash-<seed>-<i> (from the signal handler,
// on its own stack, so a stack overflow is caught too), says so on stderr and dies of the
// same signal, which ctest reports. KUBESYNC_FUZZ_SECONDS overrides --mutate-seconds (run
// longer locally: KUBESYNC_FUZZ_SECONDS=600 ctest -L fuzz -R mutate).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

// What the signal handler needs, prepared before each run (no allocation in the handler).
const std::string* g_current = nullptr;
char g_crash_path[4096];

void OnCrash(int sig) {
  if (g_current != nullptr) {
    const int fd = open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      const char* p = g_current->data();
      size_t left = g_current->size();
      while (left > 0) {
        const ssize_t n = write(fd, p, left);
        if (n <= 0) break;
        p += n;
        left -= static_cast<size_t>(n);
      }
      close(fd);
    }
    const char* msg = "fuzz: the target crashed; input written to ";
    (void)!write(2, msg, strlen(msg));
    (void)!write(2, g_crash_path, strlen(g_crash_path));
    (void)!write(2, "\n", 1);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

void InstallCrashHandlers() {
  static std::vector<char> alt_stack(1 << 16);
  stack_t ss{};
  ss.ss_sp = alt_stack.data();
  ss.ss_size = alt_stack.size();
  sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_handler = &OnCrash;
  sa.sa_flags = SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL}) sigaction(sig, &sa, nullptr);
}

void Run(const std::string& input, const std::string& crash_path) {
  std::snprintf(g_crash_path, sizeof(g_crash_path), "%s", crash_path.c_str());
  g_current = &input;
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  g_current = nullptr;
}

// splitmix64: the same sequence on every platform and standard library.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(Next() % n); }
  bool OneIn(size_t n) { return Below(n) == 0; }
  // Heavy-tailed in [1, max]: as many small values as huge ones per power of two.
  size_t LogUniform(size_t max) {
    if (max <= 1) return 1;
    size_t bits = 0;
    while ((size_t{1} << (bits + 1)) <= max) ++bits;
    const size_t high = size_t{1} << Below(bits + 1);
    return std::min(max, high + Below(high));
  }

 private:
  uint64_t state_;
};

const std::vector<std::string>& Tokens() {
  static const std::vector<std::string> kTokens = {
      "{",
      "}",
      "[",
      "]",
      "\"",
      ":",
      ",",
      "null",
      "true",
      "false",
      "-1",
      "0",
      "2147483648",
      "-2147483649",
      "9223372036854775808",
      "18446744073709551616",
      "1e400",
      "-0",
      "0.5",
      "\"\\u0000\"",
      "\"\\ud800\"",
      "\xff\xfe",
      "\xc3\x28",
      "\xed\xa0\x80",
      "\x00",
      "\\",
      "\n",
      "\r\n",
      "\t",
      "&a ",
      "*a",
      "!!binary ",
      "<<: *a",
      "---\n",
      "...\n",
      "~",
      "- ",
      ": ",
      "? ",
      "|\n",
      ">-\n",
      "%YAML 1.2\n",
      "'",
      "#",
      "\"apiVersion\"",
      "\"kind\"",
      "\"metadata\"",
      "\"spec\"",
      "\"status\"",
      "\"name\"",
      "\"namespace\"",
      "\"uid\"",
      "\"resourceVersion\"",
      "\"annotations\"",
      "\"labels\"",
      "\"request\"",
      "\"object\"",
      "\"oldObject\"",
      "\"operation\"",
      "\"UPDATE\"",
      "exec",
      "token",
      "certificate-authority-data",
      "client-key-data",
      "/spec/replicas",
      "~1",
      "~0",
      "../../etc/passwd",
      "(a+)+$",
      "[z-a]",
      "(?P<n>",
  };
  return kTokens;
}

struct Stats {
  size_t largest = 0;
  size_t deepest = 0;
};

// Text nested `depth` levels: [[[0]]], {"a":{"a":0}}, or YAML "- - - 0".
std::string Nest(Rng& rng, size_t depth, Stats& stats) {
  stats.deepest = std::max(stats.deepest, depth);
  std::string out;
  switch (rng.Below(3)) {
    case 0:
      out.reserve(depth * 2 + 1);
      out.append(depth, '[');
      out += '0';
      out.append(depth, ']');
      break;
    case 1:
      out.reserve(depth * 6 + 1);
      for (size_t i = 0; i < depth; ++i) out += "{\"a\":";
      out += '0';
      out.append(depth, '}');
      break;
    default:
      out.reserve(depth * 2 + 1);
      for (size_t i = 0; i < depth; ++i) out += "- ";
      out += '0';
      break;
  }
  return out;
}

// A JSON string of about `len` bytes, sometimes with invalid UTF-8 in it.
std::string HugeString(Rng& rng, size_t len) {
  std::string out = "\"";
  out.append(len, static_cast<char>('a' + rng.Below(26)));
  if (rng.OneIn(4) && len > 2) out[1 + rng.Below(len)] = static_cast<char>(0x80 + rng.Below(0x80));
  out += '"';
  return out;
}

constexpr std::string_view kMarker = "\"@@kubesync-fuzz-marker@@\"";

// Structure-aware: replaces a random node of a JSON document with generated text (deep
// nesting, a huge string, a long array of copies of the node). Empty when not JSON.
// `kind`: 0 nest, 2 huge string, 3 array of copies, anything else: any of them.
std::string MutateJson(const std::string& input, Rng& rng, size_t room, Stats& stats, size_t kind = 99) {
  nlohmann::json doc = nlohmann::json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return "";
  // A random walk that prefers containers, so it reaches the deep parts of a document
  // (request.object.spec of an AdmissionReview) as often as its top.
  nlohmann::json* node = &doc;
  while ((node->is_object() || node->is_array()) && !node->empty() && !rng.OneIn(5)) {
    std::vector<nlohmann::json*> containers;
    std::vector<nlohmann::json*> all;
    for (auto& child : *node) {
      all.push_back(&child);
      if ((child.is_object() || child.is_array()) && !child.empty()) containers.push_back(&child);
    }
    node = !containers.empty() && !rng.OneIn(4) ? containers[rng.Below(containers.size())]
                                                : all[rng.Below(all.size())];
  }
  const std::string original = node->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  *node = std::string(kMarker.substr(1, kMarker.size() - 2));
  std::string text = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const size_t at = text.find(kMarker);
  if (at == std::string::npos) return "";
  std::string replacement;
  switch (kind < 4 ? kind : rng.Below(4)) {
    case 0:
    case 1:
      replacement = Nest(rng, rng.LogUniform(std::max<size_t>(room / 6, 1)), stats);
      break;
    case 2:
      replacement = HugeString(rng, rng.LogUniform(std::max<size_t>(room, 1)));
      break;
    default: {
      const size_t copies = rng.LogUniform(std::max<size_t>(room / (original.size() + 1), 1));
      replacement.reserve(copies * (original.size() + 1) + 2);
      replacement += '[';
      for (size_t i = 0; i < copies; ++i) {
        if (i > 0) replacement += ',';
        replacement += original;
      }
      replacement += ']';
    }
  }
  text.replace(at, kMarker.size(), replacement);
  return text;
}

void MutateOnce(std::string& s, const std::vector<std::string>& corpus, Rng& rng, size_t max_len,
                Stats& stats) {
  const size_t room = max_len > s.size() ? max_len - s.size() : 0;
  switch (rng.Below(13)) {
    case 0:  // flip a bit
      if (!s.empty()) s[rng.Below(s.size())] ^= static_cast<char>(1u << rng.Below(8));
      break;
    case 1: {  // an interesting byte
      static const char kBytes[] = {'\0', '\xff', '"',    '\\',   '{', '[', ':',
                                    ',',  '\n',   '\x80', '\xc0', '-', ' '};
      if (!s.empty()) s[rng.Below(s.size())] = kBytes[rng.Below(sizeof(kBytes))];
      break;
    }
    case 2: {  // erase a range
      if (s.empty()) break;
      const size_t at = rng.Below(s.size());
      s.erase(at, rng.LogUniform(s.size() - at));
      break;
    }
    case 3: {  // duplicate a range
      if (s.empty()) break;
      const size_t from = rng.Below(s.size());
      const size_t len = std::min(rng.LogUniform(s.size() - from), room);
      s.insert(rng.Below(s.size() + 1), s.substr(from, len));
      break;
    }
    case 4: {  // splice in a range of another corpus input
      const std::string& other = corpus[rng.Below(corpus.size())];
      if (other.empty()) break;
      const size_t from = rng.Below(other.size());
      const std::string piece = other.substr(from, rng.LogUniform(other.size() - from));
      if (rng.OneIn(2) || s.empty()) {
        s.insert(rng.Below(s.size() + 1), piece);
      } else {
        const size_t at = rng.Below(s.size());
        s.replace(at, std::min(piece.size(), s.size() - at), piece);
      }
      break;
    }
    case 5:
    case 6: {  // a token
      const std::string& t = Tokens()[rng.Below(Tokens().size())];
      s.insert(rng.Below(s.size() + 1), t);
      break;
    }
    case 7: {  // grow to (close to) the maximum by repeating a range
      if (s.empty() || room == 0) break;
      const size_t from = rng.Below(s.size());
      const std::string piece = s.substr(from, 1 + rng.Below(std::min<size_t>(64, s.size() - from)));
      const size_t target = rng.OneIn(2) ? room : rng.LogUniform(room);
      std::string grown;
      grown.reserve(target);
      while (grown.size() + piece.size() <= target) grown += piece;
      s.insert(from, grown);
      break;
    }
    case 8: {  // nest deep at a random place (text: any format)
      const std::string nest = Nest(rng, rng.LogUniform(std::max<size_t>(room / 6, 1)), stats);
      size_t at = rng.Below(s.size() + 1);
      const size_t colon = s.find(": ", at);
      if (colon != std::string::npos && rng.OneIn(2)) {  // replace a YAML/JSON value
        at = colon + 2;
        const size_t end = s.find_first_of(",}\n", at);
        s.replace(at, (end == std::string::npos ? s.size() : end) - at, nest);
      } else {
        s.insert(at, nest);
      }
      break;
    }
    default: {  // structure-aware, when the input is JSON and small enough to parse cheaply
      if (s.size() > (1u << 20)) break;
      std::string mutated = MutateJson(s, rng, room, stats);
      if (!mutated.empty()) s = std::move(mutated);
      break;
    }
  }
  if (s.size() > max_len) s.resize(max_len);
  stats.largest = std::max(stats.largest, s.size());
}

std::string ReadAll(const std::filesystem::path& f, bool* ok) {
  std::ifstream in(f, std::ios::binary);
  *ok = static_cast<bool>(in);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool Flag(std::string_view arg, std::string_view name, std::string* value) {
  if (arg.substr(0, name.size()) != name || arg.size() <= name.size() || arg[name.size()] != '=')
    return false;
  *value = std::string(arg.substr(name.size() + 1));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0;
  size_t max_len = 1u << 20;
  uint64_t seed = 1;
  std::string crash_dir = ".";
  double max_input_seconds = 0;  // 0: no limit
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    std::string v;
    if (Flag(arg, "--mutate-seconds", &v)) {
      seconds = std::strtod(v.c_str(), nullptr);
    } else if (Flag(arg, "--max-len", &v)) {
      max_len = std::strtoull(v.c_str(), nullptr, 10);
    } else if (Flag(arg, "--seed", &v)) {
      seed = std::strtoull(v.c_str(), nullptr, 10);
    } else if (Flag(arg, "--max-input-seconds", &v)) {
      max_input_seconds = std::strtod(v.c_str(), nullptr);
    } else if (Flag(arg, "--crash-dir", &v)) {
      crash_dir = v;
    } else if (std::filesystem::is_directory(argv[i])) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(argv[i])) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else {
      files.push_back(argv[i]);
    }
  }
  if (const char* env = std::getenv("KUBESYNC_FUZZ_SECONDS"); env != nullptr && seconds > 0) {
    seconds = std::strtod(env, nullptr);
  }
  if (files.empty()) {
    std::fprintf(stderr, "no corpus files given\n");
    return 1;
  }
  std::sort(files.begin(), files.end());  // the same order everywhere, for determinism
  InstallCrashHandlers();
  std::vector<std::string> corpus;
  for (const auto& f : files) {
    bool ok = false;
    corpus.push_back(ReadAll(f, &ok));
    if (!ok) {
      std::fprintf(stderr, "cannot read %s\n", f.c_str());
      return 2;
    }
    Run(corpus.back(),
        (std::filesystem::path(crash_dir) / ("crash-replay-" + f.filename().string())).string());
  }
  std::printf("replayed %zu inputs\n", corpus.size());
  if (seconds <= 0) return 0;

  Rng rng(seed);
  Stats stats;
  std::vector<std::string> pool;  // recent mutants, so mutations stack
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  uint64_t runs = 0;
  double slowest_seconds = 0;
  uint64_t slowest_run = 0;
  std::string slowest;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string input =
        !pool.empty() && rng.OneIn(2) ? pool[rng.Below(pool.size())] : corpus[rng.Below(corpus.size())];
    // Three strategies: one input in eight nests a part of a corpus input thousands to
    // millions of levels deep, one in eight grows one to up to the maximum size, and the
    // rest are small inputs (up to 64 KiB) with a few stacked mutations, so many are tried.
    const size_t strategy = rng.Below(8);
    if (strategy <= 1) {
      input = corpus[rng.Below(corpus.size())];
      const size_t room = max_len > input.size() ? max_len - input.size() : 0;
      std::string mutated = MutateJson(input, rng, room, stats, strategy == 0 ? 0 : 2 + rng.Below(2));
      if (mutated.empty()) {
        MutateOnce(input, corpus, rng, max_len, stats);  // not JSON: text-level growth/nesting
      } else {
        input = std::move(mutated);
      }
      if (input.size() > max_len) input.resize(max_len);
      stats.largest = std::max(stats.largest, input.size());
    } else {
      const size_t limit = std::min<size_t>(max_len, 64u << 10);
      const size_t mutations = 1 + rng.Below(4);
      for (size_t m = 0; m < mutations; ++m) MutateOnce(input, corpus, rng, limit, stats);
    }
    const auto run_start = std::chrono::steady_clock::now();
    Run(input,
        (std::filesystem::path(crash_dir) / ("crash-" + std::to_string(seed) + "-" + std::to_string(runs)))
            .string());
    const double run_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
    if (run_seconds > slowest_seconds) {
      slowest_seconds = run_seconds;
      slowest_run = runs;
      slowest = input;
    }
    ++runs;
    if (input.size() <= (64u << 10)) {
      if (pool.size() < 64) {
        pool.push_back(std::move(input));
      } else {
        pool[rng.Below(pool.size())] = std::move(input);
      }
    }
  }
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "mutated %llu inputs in %.1f s (seed %llu, max len %zu; largest %zu bytes, deepest nesting %zu)\n",
      static_cast<unsigned long long>(runs), took, static_cast<unsigned long long>(seed), max_len,
      stats.largest, stats.deepest);
  std::printf("slowest input: #%llu, %zu bytes, %.3f s\n", static_cast<unsigned long long>(slowest_run),
              slowest.size(), slowest_seconds);
  // An input that takes longer than a whole run is allowed is a hang in the making.
  if (max_input_seconds > 0 && slowest_seconds > max_input_seconds) {
    const auto path = std::filesystem::path(crash_dir) /
                      ("slow-" + std::to_string(seed) + "-" + std::to_string(slowest_run));
    std::ofstream(path, std::ios::binary) << slowest;
    std::fprintf(stderr, "fuzz: input #%llu took %.1f s (limit %.1f s); written to %s\n",
                 static_cast<unsigned long long>(slowest_run), slowest_seconds, max_input_seconds,
                 path.c_str());
    return 3;
  }
  return 0;
}
