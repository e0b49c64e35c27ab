// Writes every UDP payload of the given captures as a file into OUT_DIR: the seed corpus of
// the DNS/mDNS fuzz target, made at build time from the real captures in tests/data/mdns.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "support/pcap.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: pcap_extract OUT_DIR CAPTURE...\n");
    return 2;
  }
  const std::filesystem::path out(argv[1]);
  std::filesystem::create_directories(out);
  int n = 0;
  for (int i = 2; i < argc; ++i) {
    const std::string stem = std::filesystem::path(argv[i]).filename().string();
    int k = 0;
    for (const auto& pkt : schoolnet::testing::read_udp_payloads(argv[i])) {
      std::ofstream f(out / (stem + "." + std::to_string(k++)), std::ios::binary | std::ios::trunc);
      f.write(reinterpret_cast<const char*>(pkt.payload.data()),
              static_cast<std::streamsize>(pkt.payload.size()));
      ++n;
    }
  }
  std::printf("%d payloads\n", n);
  return n > 0 ? 0 : 1;
}
