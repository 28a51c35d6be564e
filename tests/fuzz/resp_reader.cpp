// The RESP reader (parley::redis::detail::reader, hiredis' codec) and the command encoder.
// Properties: the replies and the verdict do not depend on how the bytes are split into feeds
// (one, three, one per byte);
// every reply written back as RESP reads back the same; an encoded command reads back as an
// array of exactly its arguments.
#include "check.hpp"
#include "resp.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace r = parley::redis;
using parley::fuzz::require;

namespace {

// RESP2 text of a reply, as Redis would send it.
void write(const r::value& v, std::string& out) {
  using k = r::value::kind;
  switch (v.type) {
    case k::nil: out += "$-1\r\n"; break;
    case k::string: out += "$" + std::to_string(v.str.size()) + "\r\n" + v.str + "\r\n"; break;
    case k::status: out += "+" + v.str + "\r\n"; break;
    case k::error: out += "-" + v.str + "\r\n"; break;
    case k::integer: out += ":" + std::to_string(v.integer) + "\r\n"; break;
    case k::array:
      out += "*" + std::to_string(v.elements.size()) + "\r\n";
      for (const auto& e : v.elements) write(e, out);
      break;
  }
}

struct outcome {
  std::string replies;  // every complete reply, written back as RESP
  std::size_t count = 0;
  bool failed = false;
};

void drain(r::detail::reader& rd, outcome& out) {
  while (!out.failed) {
    auto next = rd.next();
    if (!next) {
      out.failed = true;
      return;
    }
    if (!*next) return;
    write(**next, out.replies);
    ++out.count;
  }
}

outcome read_all(const std::vector<std::string_view>& pieces) {
  r::detail::reader rd;
  outcome out;
  for (auto piece : pieces) {
    if (out.failed) break;
    rd.feed(piece);
    drain(rd, out);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const auto whole = read_all({all});
  const auto third = size / 3;
  const auto split = read_all({all.substr(0, third), all.substr(third, third), all.substr(2 * third)});
  std::vector<std::string_view> singles;
  for (std::size_t i = 0; i < all.size(); ++i) singles.push_back(all.substr(i, 1));
  const auto bytewise = read_all(singles);
  require(split.failed == whole.failed && split.replies == whole.replies, "three feeds read the same replies as one");
  require(bytewise.failed == whole.failed && bytewise.replies == whole.replies, "bytewise feeds read the same replies");

  if (!whole.failed) {
    const auto again = read_all({whole.replies});
    require(!again.failed && again.count == whole.count && again.replies == whole.replies,
            "replies written back as RESP read back the same");
  }

  r::command cmd;
  for (std::size_t i = 0; i < all.size(); i += 7) cmd.push_back(std::string(all.substr(i, 7)));
  if (cmd.empty()) return 0;
  std::string encoded;
  r::detail::encode(cmd, encoded);
  r::detail::reader rd;
  rd.feed(encoded);
  auto reply = rd.next();
  require(reply && *reply && (*reply)->is_array() && (*reply)->elements.size() == cmd.size(),
          "an encoded command reads back as an array of its arguments");
  for (std::size_t i = 0; i < cmd.size(); ++i)
    require((*reply)->elements[i].as_string() == cmd[i], "each argument reads back unchanged");
  return 0;
}
