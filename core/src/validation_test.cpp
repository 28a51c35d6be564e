#include <parley/validation.hpp>

#include <gtest/gtest.h>

using parley::validation_errc;

TEST(Utf8, CountsCodePoints) {
  EXPECT_EQ(parley::utf8_length("abc"), 3u);
  EXPECT_EQ(parley::utf8_length("h\xC3\xA9llo"), 5u);
  EXPECT_EQ(parley::utf8_length("\xF0\x9F\x98\x80"), 1u);
}

TEST(Utf8, RejectsMalformed) {
  EXPECT_FALSE(parley::utf8_length("\xC3"));               // truncated
  EXPECT_FALSE(parley::utf8_length("\xC0\xAF"));           // overlong
  EXPECT_FALSE(parley::utf8_length("\xED\xA0\x80"));       // surrogate
  EXPECT_FALSE(parley::utf8_length("\xF4\x90\x80\x80"));   // above U+10FFFF
  EXPECT_FALSE(parley::utf8_length("\xFF"));
}

TEST(Name, TrimsAndAccepts) {
  auto r = parley::validate_name("  Ada Lovelace \t");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "Ada Lovelace");
  EXPECT_TRUE(parley::validate_name(std::string(64, 'x')));
  EXPECT_TRUE(parley::validate_name("Zo\xC3\xAB"));
}

TEST(Name, RejectsBadNames) {
  EXPECT_EQ(parley::validate_name("").error(), validation_errc::empty);
  EXPECT_EQ(parley::validate_name("   \t").error(), validation_errc::empty);
  EXPECT_EQ(parley::validate_name(std::string(65, 'x')).error(), validation_errc::too_long);
  EXPECT_EQ(parley::validate_name("a\x01" "b").error(), validation_errc::control_chars);
  EXPECT_EQ(parley::validate_name("a\nb").error(), validation_errc::control_chars);
  EXPECT_EQ(parley::validate_name("a\xC2\x85" "b").error(), validation_errc::control_chars);  // NEL
  EXPECT_EQ(parley::validate_name("a\xFF").error(), validation_errc::invalid_utf8);
}

TEST(Name, LengthCountsCharactersNotBytes) {
  std::string name;
  for (int i = 0; i < 64; ++i) name += "\xC3\xA9";
  EXPECT_TRUE(parley::validate_name(name));
  name += "\xC3\xA9";
  EXPECT_EQ(parley::validate_name(name).error(), validation_errc::too_long);
}

TEST(MessageText, Validates) {
  EXPECT_FALSE(parley::validate_message_text("Hello Bot", 10));
  EXPECT_FALSE(parley::validate_message_text("line1\nline2\tx", 100));
  EXPECT_EQ(parley::validate_message_text("", 10), validation_errc::empty);
  EXPECT_EQ(parley::validate_message_text(" \n ", 10), validation_errc::empty);
  EXPECT_EQ(parley::validate_message_text("12345678901", 10), validation_errc::too_long);
  EXPECT_FALSE(parley::validate_message_text("1234567890", 10));
  EXPECT_EQ(parley::validate_message_text("a\x07", 10), validation_errc::control_chars);
  // Only tab and newline, as docs/protocol.md says: a carriage return is refused too.
  EXPECT_EQ(parley::validate_message_text("a\rb", 10), validation_errc::control_chars);
  EXPECT_EQ(parley::validate_message_text("a\r\nb", 10), validation_errc::control_chars);
  EXPECT_EQ(parley::validate_message_text("a\xC3", 10), validation_errc::invalid_utf8);
}

// A carriage return was accepted, while docs/protocol.md allows only tab and newline (a property
// of fuzz_validation).
TEST(MessageText, RejectsCarriageReturn) {
  EXPECT_EQ(parley::validate_message_text("a\r\nb", 10), validation_errc::control_chars);
  EXPECT_EQ(parley::validate_message_text("a\r", 10), validation_errc::control_chars);
}


TEST(Id, CountsCharactersAndRejectsControls) {
  EXPECT_FALSE(parley::validate_id("c-1", 128));
  EXPECT_FALSE(parley::validate_id(" spaced id ", 128));
  EXPECT_EQ(parley::validate_id("", 128), validation_errc::empty);
  std::string id;
  for (int i = 0; i < 128; ++i) id += "\xC3\xA9";
  EXPECT_FALSE(parley::validate_id(id, 128));
  EXPECT_EQ(parley::validate_id(id + "x", 128), validation_errc::too_long);
  EXPECT_EQ(parley::validate_id("a\tb", 128), validation_errc::control_chars);
  EXPECT_EQ(parley::validate_id("a\xC2\x85", 128), validation_errc::control_chars);  // NEL
  EXPECT_EQ(parley::validate_id("a\xFF", 128), validation_errc::invalid_utf8);
}

TEST(Title, ValidatesLikeANameUpTo80Characters) {
  EXPECT_EQ(*parley::validate_title("  Trip to Rome \n"), "Trip to Rome");
  EXPECT_TRUE(parley::validate_title(std::string(80, 'x')));
  EXPECT_EQ(parley::validate_title(std::string(81, 'x')).error(), validation_errc::too_long);
  EXPECT_EQ(parley::validate_title(" \t ").error(), validation_errc::empty);
  EXPECT_EQ(parley::validate_title("a\nb").error(), validation_errc::control_chars);
  EXPECT_EQ(parley::validate_title("\xC3").error(), validation_errc::invalid_utf8);
}

TEST(Title, FromTheFirstMessage) {
  EXPECT_EQ(parley::title_from_message("  Hello\n\n  there\tfriend  "), "Hello there friend");
  EXPECT_EQ(parley::title_from_message(std::string(80, 'x')), std::string(80, 'x'));
  // Over 80 characters: 79 of them and an ellipsis; code points, not bytes, are counted.
  std::string smiles;
  for (int i = 0; i < 100; ++i) smiles += "\xF0\x9F\x98\x80";
  const auto t = parley::title_from_message(smiles);
  EXPECT_EQ(parley::utf8_length(t), 80u);
  EXPECT_EQ(t, smiles.substr(0, 79 * 4) + "\xE2\x80\xA6");
  // A cut right after a space does not leave the space before the ellipsis.
  const auto spaced = parley::title_from_message(std::string(78, 'a') + " bcdef");
  EXPECT_EQ(spaced, std::string(78, 'a') + "\xE2\x80\xA6");
}
