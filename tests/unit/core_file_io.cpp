#include <catch2/catch.hpp>

#include <dma/core/config.hpp>
#include <dma/core/file_io.hpp>

#include <filesystem>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_core_file_io {

namespace fs = std::filesystem;

TEST_CASE("file io: crc32 matches the standard check value", "[core][cpu]") {
  CHECK(dma::io::crc32("123456789", 9) == 0xCBF43926u);
}

TEST_CASE("file io: framed files reject truncation, corruption and other versions", "[core][cpu]") {
  const std::string f = dma::io::frame("DMATEST1", 3, "payload bytes");
  CHECK(dma::io::unframe(f, "DMATEST1", 3, "t.bin") == "payload bytes");
  CHECK_THROWS_WITH(dma::io::unframe(f.substr(0, f.size() - 2), "DMATEST1", 3, "t.bin"),
                    Catch::Contains("t.bin") && Catch::Contains("truncated"));
  std::string bad = f;
  bad[20] ^= 0x40;
  CHECK_THROWS_WITH(dma::io::unframe(bad, "DMATEST1", 3, "t.bin"), Catch::Contains("checksum"));
  CHECK_THROWS_WITH(dma::io::unframe(f, "DMATEST1", 4, "t.bin"), Catch::Contains("version 3"));
  CHECK_THROWS_WITH(dma::io::unframe(f, "OTHERMAG", 3, "t.bin"), Catch::Contains("bad magic"));
}

TEST_CASE("file io: atomic_write replaces the file whole", "[core][cpu]") {
  const fs::path dir = fs::temp_directory_path() / "dma_test_atomic";
  fs::remove_all(dir);
  dma::io::atomic_write(dir / "a.txt", "one");
  dma::io::atomic_write(dir / "a.txt", "two");
  CHECK(dma::io::read_file(dir / "a.txt") == "two");
  CHECK_THROWS_WITH(dma::io::read_file(dir / "missing.txt"), Catch::Contains("missing.txt"));
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir)) ++n;
  CHECK(n == 1);  // no temp files left behind
  fs::remove_all(dir);
}

TEST_CASE("config: overrides, nested keys and typed errors", "[core][cpu]") {
  const char* argv[] = {"prog", "--collect.trajectories", "200", "--name", "x", "--flag"};
  auto c = dma::Config::from_args(6, const_cast<char**>(argv));
  CHECK(c.get<int>("collect.trajectories", 0) == 200);
  CHECK(c.get<std::string>("name", "") == "x");
  CHECK(c.get<bool>("flag", false));
  CHECK(c.get<int>("missing", 5) == 5);
  CHECK_THROWS_WITH(c.get<int>("name", 0), Catch::Contains("'name'") && Catch::Contains("wrong type"));
  CHECK_THROWS_WITH(c.require<int>("nope"), Catch::Contains("missing required key 'nope'"));
  CHECK_THROWS_WITH(dma::parse_json("{bad", "cfg.json"), Catch::Contains("cfg.json"));
}

}  // namespace dma_test_core_file_io
