#include <parley/worker/request_queue.hpp>

#include <gtest/gtest.h>

namespace parley::worker {
namespace {

redis::value str(std::string s) { return redis::value::make_string(std::move(s)); }
redis::value arr(std::vector<redis::value> v) {
  redis::value out;
  out.type = redis::value::kind::array;
  out.elements = std::move(v);
  return out;
}

TEST(parse_entries, reads_token_seq_and_id) {
  auto v = arr({arr({str("1700000000123-4"), arr({str("token"), str("T"), str("seq"), str("3"), str("id"), str("9-0")})})});
  auto e = parse_entries(v, true);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_TRUE(e[0].valid);
  EXPECT_TRUE(e[0].claimed);
  EXPECT_EQ(e[0].token, "T");
  EXPECT_EQ(e[0].seq, 3);
  EXPECT_EQ(e[0].message_id, "9-0");
  EXPECT_EQ(e[0].added_at().count(), 1700000000123);
}

TEST(parse_entries, marks_missing_unknown_and_malformed_fields_invalid) {
  auto v = arr({
      arr({str("1-0"), arr({str("token"), str("T"), str("seq"), str("1")})}),
      arr({str("2-0"), arr({str("token"), str("T"), str("seq"), str("x"), str("id"), str("i")})}),
      arr({str("3-0"), arr({str("token"), str("T"), str("seq"), str("1"), str("id"), str("i"), str("extra"), str("")})}),
      arr({str("4-0"), arr({str("token"), str(""), str("seq"), str("1"), str("id"), str("i")})}),
  });
  auto e = parse_entries(v, false);
  ASSERT_EQ(e.size(), 4u);
  for (const auto& x : e) EXPECT_FALSE(x.valid) << x.id;
}

TEST(parse_entries, skips_deleted_entries) {
  auto v = arr({redis::value{}, arr({str("5-0"), redis::value{}})});
  auto e = parse_entries(v, true);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_FALSE(e[0].valid);
}

}  // namespace
}  // namespace parley::worker
