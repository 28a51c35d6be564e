#include <parley/keys.hpp>
#include <parley/request_entry.hpp>

#include <gtest/gtest.h>

namespace parley {
namespace {

using pairs = std::vector<std::pair<std::string_view, std::string_view>>;

TEST(request_entry, encodes_and_decodes_the_same_fields) {
  const auto fields = encode_request({"T", 3, "1700000000000-0"});
  EXPECT_EQ(fields, (std::vector<std::string>{"token", "T", "seq", "3", "id", "1700000000000-0"}));
  pairs p;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) p.emplace_back(fields[i], fields[i + 1]);
  auto r = decode_request(p);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->token, "T");
  EXPECT_EQ(r->seq, 3);
  EXPECT_EQ(r->message_id, "1700000000000-0");
}

TEST(request_entry, refuses_missing_unknown_repeated_and_malformed_fields_by_name) {
  struct bad {
    pairs fields;
    std::string why;
  };
  for (const auto& c : std::vector<bad>{
           {{{"token", "T"}, {"seq", "1"}}, "missing field 'id'"},
           {{{"seq", "1"}, {"id", "i"}}, "missing field 'token'"},
           {{{"token", "T"}, {"id", "i"}}, "missing field 'seq'"},
           {{{"token", "T"}, {"seq", "x"}, {"id", "i"}}, "field 'seq' is not a positive number"},
           {{{"token", "T"}, {"seq", "0"}, {"id", "i"}}, "field 'seq' is not a positive number"},
           {{{"token", "T"}, {"seq", "1 "}, {"id", "i"}}, "field 'seq' is not a positive number"},
           {{{"token", ""}, {"seq", "1"}, {"id", "i"}}, "field 'token' is empty"},
           {{{"token", "T"}, {"seq", "1"}, {"id", "i"}, {"extra", ""}}, "unknown field 'extra'"},
           {{{"token", "T"}, {"seq", "1"}, {"id", "i"}, {"seq", "2"}}, "field 'seq' appears twice"},
       }) {
    std::string why;
    EXPECT_FALSE(decode_request(c.fields, &why));
    EXPECT_EQ(why, c.why);
  }
}

TEST(request_entry, notify_channel_names_its_token) {
  EXPECT_EQ(token_of_notify_channel(keys::notify_channel("abc")), "abc");
  EXPECT_EQ(token_of_notify_channel("parley:{}:notify"), "");
  EXPECT_EQ(token_of_notify_channel("parley:stop"), "");
  EXPECT_EQ(token_of_notify_channel("parley:{abc}:events"), "");
}

}  // namespace
}  // namespace parley
