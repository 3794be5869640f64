#include "server/request_path.h"

#include <gtest/gtest.h>

#include "base/testing/testing.h"

namespace goldroot::server {
namespace {

TEST(RequestPath, CanonicalizesHarmlessForms) {
  struct Case {
    const char* raw;
    const char* canonical;
  };
  for (const Case& c :
       {Case{"/", "/"}, Case{"/a/b", "/a/b"}, Case{"//a///b", "/a/b"}, Case{"/a/./b/.", "/a/b"},
        Case{"/boot/", "/boot/"}, Case{"/%61%62c", "/abc"},
        Case{"/aa:bb:cc.ipxe", "/aa:bb:cc.ipxe"}, Case{"/a%20b", "/a b"},
        Case{"/.hidden", "/.hidden"}, Case{"/a..b/...", "/a..b/..."}}) {
    ASSERT_OK_AND_ASSIGN(std::string canonical, canonical_request_path(c.raw));
    EXPECT_EQ(canonical, c.canonical) << c.raw;
  }
}

TEST(RequestPath, RejectsTraversalAndSmuggledBytes) {
  for (const char* raw : {"", "a/b", "/..", "/../etc/passwd", "/a/../../b", "/%2e%2e/secret",
                          "/%2E%2E/secret", "/.%2e/secret", "/a%2f..%2fb", "/a%2Fb", "/a%00b",
                          "/a%0ab", "/a\\..\\b", "/a%5c..", "/%", "/%4", "/%zz", "/a%7f"}) {
    auto result = canonical_request_path(raw);
    EXPECT_FALSE(result.ok()) << raw << " → " << (result.ok() ? result.value() : "");
  }
  std::string with_nul("/a\0b", 4);
  EXPECT_FALSE(canonical_request_path(with_nul).ok());
}

}  // namespace
}  // namespace goldroot::server
