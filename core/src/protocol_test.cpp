#include <parley/protocol.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace p = parley::protocol;
using parley::api_errc;

namespace {
p::frame_error err(std::string_view text) {
  auto r = p::parse_client_frame(text);
  auto* e = std::get_if<p::frame_error>(&r);
  if (!e) {
    ADD_FAILURE() << "expected an error for " << text;
    return {};
  }
  return *e;
}
p::client_frame frame(std::string_view text) {
  auto r = p::parse_client_frame(text);
  auto* f = std::get_if<p::client_frame>(&r);
  if (!f) {
    ADD_FAILURE() << "unexpected error for " << text << ": " << std::get<p::frame_error>(r).message;
    return {};
  }
  return *f;
}
}  // namespace

TEST(ClientFrame, PlainTextIsAMessage) {
  for (const char* text : {"Hello Bot", "42", "\"quoted\"", "[1,2]", "null", "not {json}", "} {"}) {
    auto f = frame(text);
    auto* m = std::get_if<p::message_frame>(&f);
    ASSERT_TRUE(m) << text;
    EXPECT_EQ(m->text, text);
    EXPECT_EQ(m->client_id, "");
  }
}

TEST(ClientFrame, Message) {
  auto f = frame(R"({"type":"message","text":"hi","client_id":"c-1"})");
  auto& m = std::get<p::message_frame>(f);
  EXPECT_EQ(m.text, "hi");
  EXPECT_EQ(m.client_id, "c-1");
}

TEST(ClientFrame, StopAndPing) {
  auto f = frame(R"({"type":"stop","message_id":"1-0"})");
  EXPECT_EQ(std::get<p::stop_frame>(f).message_id, "1-0");
  EXPECT_TRUE(std::holds_alternative<p::ping_frame>(frame(R"({"type":"ping"})")));
}

TEST(ClientFrame, RejectsWrongShapesByName) {
  auto e = err(R"({"text":"hi"})");
  EXPECT_EQ(e.code, api_errc::bad_frame);
  EXPECT_EQ(e.field, "type");
  e = err(R"({"type":5})");
  EXPECT_EQ(e.field, "type");
  e = err(R"({"type":"message"})");
  EXPECT_EQ(e.field, "text");
  EXPECT_NE(e.message.find("missing"), std::string::npos);
  e = err(R"({"type":"message","text":7})");
  EXPECT_EQ(e.field, "text");
  EXPECT_NE(e.message.find("string"), std::string::npos);
  e = err(R"({"type":"message","text":"x","colour":"red"})");
  EXPECT_EQ(e.field, "colour");
  EXPECT_NE(e.message.find("unknown field 'colour'"), std::string::npos);
  e = err(R"({"type":"message","text":"x","client_id":""})");
  EXPECT_EQ(e.field, "client_id");
  e = err(R"({"type":"message","text":"x","client_id":")" + std::string(129, 'a') + "\"}");
  EXPECT_EQ(e.field, "client_id");
  e = err(R"({"type":"stop"})");
  EXPECT_EQ(e.field, "message_id");
  e = err(R"({"type":"ping","x":1})");
  EXPECT_EQ(e.field, "x");
}

// A frame that opens like a JSON object is a protocol frame, so a broken one is an error, never
// chat text that a resend (its client_id unread) would store twice.
TEST(ClientFrame, BrokenObjectIsABadFrameNotText) {
  for (const char* text : {"{not json", R"({"type":"message","text":"x","client_id":"c1",})", R"({"type": )",
                           R"({"type":"message","text":"\ud800"})", "  \n{\"type\":\"message\"", "{"}) {
    auto e = err(text);
    EXPECT_EQ(e.code, api_errc::bad_frame) << text;
    EXPECT_FALSE(e.field) << text;
    EXPECT_NE(e.message.find("not a JSON object"), std::string::npos) << text;
  }
}

TEST(ClientFrame, EmptyFieldNameIsNamed) {
  auto e = err(R"({"type":"message","text":"x","":1})");
  EXPECT_EQ(e.code, api_errc::bad_frame);
  ASSERT_TRUE(e.field);
  EXPECT_EQ(*e.field, "");
  auto frame = boost::json::parse(p::error_frame(e.code, e.message, e.field)).as_object();
  ASSERT_TRUE(frame.contains("field"));
  EXPECT_EQ(frame["field"], "");
}

TEST(ClientFrame, StopNeedsAMessageId) {
  for (const char* id : {"abc", "1-", "-1", "1-2-3", "12"}) {
    auto e = err(std::string(R"({"type":"stop","message_id":")") + id + "\"}");
    EXPECT_EQ(e.code, api_errc::bad_frame) << id;
    EXPECT_EQ(e.field, "message_id") << id;
  }
}

TEST(ClientFrame, UnknownType) {
  auto e = err(R"({"type":"dance"})");
  EXPECT_EQ(e.code, api_errc::unknown_type);
  EXPECT_EQ(e.field, "type");
}

TEST(ServerFrame, AckAndError) {
  auto ack = boost::json::parse(p::ack_frame("1-0", 3, false, "c")).as_object();
  EXPECT_EQ(ack["type"], "ack");
  EXPECT_EQ(ack["id"], "1-0");
  EXPECT_EQ(ack["seq"], 3);
  EXPECT_EQ(ack["duplicate"], false);
  EXPECT_EQ(ack["client_id"], "c");
  auto e = boost::json::parse(p::error_frame(api_errc::rate_limited, "slow", std::nullopt, 250)).as_object();
  EXPECT_EQ(e["code"], "rate_limited");
  EXPECT_EQ(e["retry_after_ms"], 250);
  EXPECT_FALSE(e.contains("field"));
  auto e2 = boost::json::parse(p::error_frame(api_errc::busy)).as_object();
  EXPECT_EQ(e2["code"], "busy");
  EXPECT_TRUE(e2["message"].is_string());
}

TEST(StreamId, ParsesAndOrders) {
  auto a = p::stream_id::parse("1700000000000-0");
  auto b = p::stream_id::parse("1700000000000-12");
  auto c = p::stream_id::parse("1700000000001-0");
  ASSERT_TRUE(a && b && c);
  EXPECT_LT(*a, *b);
  EXPECT_LT(*b, *c);
  EXPECT_EQ(b->str(), "1700000000000-12");
  for (const char* bad : {"", "1", "-1", "1-", "a-1", "1-1-1", "1-x"}) EXPECT_FALSE(p::stream_id::parse(bad)) << bad;
}

TEST(Events, InjectsAndReadsIds) {
  auto e = p::event_with_id(R"({"type":"delta","text":"hi"})", "5-1");
  ASSERT_TRUE(e);
  EXPECT_EQ(p::event_id(*e), (p::stream_id{5, 1}));
  EXPECT_FALSE(p::event_with_id("nope", "5-1"));
  EXPECT_FALSE(p::event_id(R"({"type":"delta"})"));
}

TEST(Events, MessageEventsGetTheirMessageId) {
  auto e = p::event_with_id(R"({"type":"message","msg":"hi"})", "7-0");
  ASSERT_TRUE(e);
  auto o = boost::json::parse(*e).as_object();
  EXPECT_EQ(o["id"], "7-0");
  EXPECT_EQ(o["message_id"], "7-0");
  auto d = boost::json::parse(*p::event_with_id(R"({"type":"delta"})", "8-0")).as_object();
  EXPECT_FALSE(d.contains("message_id"));
}

// A C1 control character (U+0085) passed as a client_id (a property of fuzz_protocol_frame), and
// the documented 128-character limit counted bytes.
TEST(ClientFrame, IdsAreCharactersWithoutAnyControlCharacter) {
  auto e = err(R"({"type":"message","text":"x","client_id":"a\u0085"})");
  EXPECT_EQ(e.field, "client_id");
  EXPECT_NE(e.message.find("control characters"), std::string::npos);
  e = err(R"({"type":"stop","message_id":"\u009f"})");
  EXPECT_EQ(e.field, "message_id");
  std::string id;
  for (int i = 0; i < 128; ++i) id += "\u00e9";
  auto f = frame(R"({"type":"message","text":"x","client_id":")" + id + "\"}");
  EXPECT_EQ(std::get<p::message_frame>(f).client_id.size(), 256u);
  e = err(R"({"type":"message","text":"x","client_id":")" + id + "e\"}");
  EXPECT_EQ(e.field, "client_id");
}

TEST(ServerFrames, WaitingSaysWhereAMessageStandsInWords) {
  namespace json = boost::json;
  auto w = json::parse(parley::protocol::waiting_frame("1-0", 3, false, 2)).as_object();
  EXPECT_EQ(w["type"], "waiting");
  EXPECT_EQ(w["reply_to"], "1-0");
  EXPECT_EQ(w["ahead"], 3);
  EXPECT_EQ(w["workers"], 2);
  EXPECT_FALSE(w.contains("more"));
  EXPECT_EQ(w["message"], "3 messages ahead of you");
  EXPECT_EQ(json::parse(parley::protocol::waiting_frame("1-0", 1, false, 1)).as_object()["message"], "1 message ahead of you");
  EXPECT_EQ(json::parse(parley::protocol::waiting_frame("1-0", 1000, true, 1)).as_object()["message"],
            "1000+ messages ahead of you");
  EXPECT_EQ(json::parse(parley::protocol::waiting_frame("1-0", 0, false, 1)).as_object()["message"], "You are next");
  EXPECT_EQ(json::parse(parley::protocol::waiting_frame("1-0", 4, false, 0)).as_object()["message"],
            "No model is running right now. Your message is saved and will be answered when one starts.");
}

TEST(ClientFrame, VersionFrames) {
  auto edit = frame(R"({"type":"edit","message_id":"1-0","text":"fixed","client_id":"c1"})");
  auto* e = std::get_if<p::version_frame>(&edit);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, p::version_frame::op::edit);
  EXPECT_EQ(e->message_id, "1-0");
  EXPECT_EQ(e->text, "fixed");
  EXPECT_EQ(e->client_id, "c1");

  auto regen = frame(R"({"type":"regenerate","message_id":"2-1"})");
  ASSERT_TRUE(std::get_if<p::version_frame>(&regen));
  EXPECT_EQ(std::get<p::version_frame>(regen).kind, p::version_frame::op::regenerate);
  auto cont = frame(R"({"type":"continue","message_id":"2-1","client_id":"x"})");
  EXPECT_EQ(std::get<p::version_frame>(cont).kind, p::version_frame::op::continue_reply);
  auto sw = frame(R"({"type":"switch","message_id":"2-1","version":3})");
  EXPECT_EQ(std::get<p::version_frame>(sw).kind, p::version_frame::op::switch_version);
  EXPECT_EQ(std::get<p::version_frame>(sw).version, 3);
}

TEST(ClientFrame, VersionFramesAreParsedStrictly) {
  struct bad {
    const char* text;
    const char* field;
  };
  for (auto [text, field] : std::initializer_list<bad>{
           {R"({"type":"edit","message_id":"1-0"})", "text"},
           {R"({"type":"edit","message_id":"1-0","text":5})", "text"},
           {R"({"type":"edit","text":"x"})", "message_id"},
           {R"({"type":"regenerate","message_id":"abc"})", "message_id"},
           {R"({"type":"regenerate","message_id":"1-0","text":"x"})", "text"},
           {R"({"type":"continue","message_id":"1-0","version":1})", "version"},
           {R"({"type":"switch","message_id":"1-0"})", "version"},
           {R"({"type":"switch","message_id":"1-0","version":0})", "version"},
           {R"({"type":"switch","message_id":"1-0","version":1.5})", "version"},
           {R"({"type":"switch","message_id":"1-0","version":"2"})", "version"},
           {R"({"type":"switch","message_id":"1-0","version":2,"client_id":"c"})", "client_id"},
           {R"({"type":"regenerate","message_id":"1-0","client_id":""})", "client_id"},
       }) {
    auto e = err(text);
    EXPECT_EQ(e.code, api_errc::bad_frame) << text;
    EXPECT_EQ(e.field, field) << text;
  }
}
