#include "agent/log_files.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace setpoint::agent {
namespace {

class LogFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/setpoint-logs-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/0.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Append(const std::string& path, const std::string& data) {
    std::ofstream(path, std::ios::app | std::ios::binary) << data;
  }
  std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  bool Exists(const std::string& path) { return std::filesystem::exists(path); }

  std::string dir_;
  std::string path_;
};

TEST_F(LogFilesTest, RotatesByCopyAndTruncateKeepingN) {
  RotationPolicy policy{.max_bytes = 100, .keep = 2};
  EXPECT_EQ(RotateIfNeeded(path_, policy), false);  // no file yet
  Append(path_, std::string(50, 'a'));
  EXPECT_EQ(RotateIfNeeded(path_, policy), false);  // under the limit

  // A writer holding the file with O_APPEND, like the child: after the truncate its next write
  // lands at the start of the file, not past a hole.
  int writer = open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  ASSERT_GE(writer, 0);
  ASSERT_EQ(write(writer, std::string(100, 'a').data(), 100), 100);
  EXPECT_EQ(RotateIfNeeded(path_, policy), true);
  // Only the newest max_bytes are kept (no line start within them to widen back to).
  EXPECT_EQ(Read(path_ + ".1"), std::string(100, 'a'));
  EXPECT_EQ(std::filesystem::file_size(path_), 0u);
  ASSERT_EQ(write(writer, "b\n", 2), 2);
  close(writer);
  EXPECT_EQ(Read(path_), "b\n");

  Append(path_, std::string(120, 'b'));
  EXPECT_EQ(RotateIfNeeded(path_, policy), true);
  Append(path_, std::string(130, 'c'));
  EXPECT_EQ(RotateIfNeeded(path_, policy), true);
  EXPECT_EQ(Read(path_ + ".1"), std::string(100, 'c'));
  // The newest 100 bytes widened back to the start of their line; the 'a' file was dropped.
  EXPECT_EQ(Read(path_ + ".2"), std::string(120, 'b'));
  EXPECT_FALSE(Exists(path_ + ".3"));
  EXPECT_FALSE(Exists(path_ + ".1.tmp"));
  EXPECT_EQ(Read(path_), "");
}

TEST_F(LogFilesTest, KeepZeroOnlyTruncates) {
  Append(path_, std::string(20, 'x'));
  EXPECT_EQ(RotateIfNeeded(path_, {.max_bytes = 10, .keep = 0}), true);
  EXPECT_EQ(std::filesystem::file_size(path_), 0u);
  EXPECT_FALSE(Exists(path_ + ".1"));
}

TEST_F(LogFilesTest, ReadTailLinesAndLimit) {
  EXPECT_EQ(ReadTail(path_, 10, std::nullopt).error().code(), StatusCode::kNotFound);
  Append(path_, "one\ntwo\nthree\n");
  EXPECT_EQ(*ReadTail(path_, std::nullopt, std::nullopt), "one\ntwo\nthree\n");
  EXPECT_EQ(*ReadTail(path_, 2, std::nullopt), "two\nthree\n");
  EXPECT_EQ(*ReadTail(path_, 3, std::nullopt), "one\ntwo\nthree\n");
  EXPECT_EQ(*ReadTail(path_, 10, std::nullopt), "one\ntwo\nthree\n");
  EXPECT_EQ(*ReadTail(path_, 0, std::nullopt), "");
  EXPECT_EQ(*ReadTail(path_, std::nullopt, 8), "o\nthree\n");
  EXPECT_EQ(*ReadTail(path_, 3, 8), "o\nthree\n");
  EXPECT_EQ(*ReadTail(path_, 1, 8), "three\n");
  EXPECT_EQ(*ReadTail(path_, std::nullopt, 0), "");
  Append(path_, "partial");  // an unterminated last line counts as a line
  EXPECT_EQ(*ReadTail(path_, 2, std::nullopt), "three\npartial");
}

// The flood case: a rotation has just emptied the live file; `--tail` still finds its lines in
// the rotated files, newest first, within the byte limit.
TEST_F(LogFilesTest, ReadTailGoesOnIntoTheRotatedFiles) {
  const RotationPolicy policy{.max_bytes = 10, .keep = 2};
  Append(path_, "a1\na2\na3\na4\n");
  ASSERT_EQ(RotateIfNeeded(path_, policy), true);  // .1 = the a-lines (the newest 10 bytes, widened)
  Append(path_, "b1\nb2\nb3\nb4\n");
  ASSERT_EQ(RotateIfNeeded(path_, policy), true);  // .2 = the a-lines, .1 = the b-lines
  ASSERT_EQ(Read(path_), "");
  const std::string a = Read(path_ + ".2"), b = Read(path_ + ".1");
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());

  EXPECT_EQ(*ReadTail(path_, 2, std::nullopt), "b3\nb4\n");
  Append(path_, "c1\n");
  EXPECT_EQ(*ReadTail(path_, 2, std::nullopt), "b4\nc1\n");
  EXPECT_EQ(*ReadTail(path_, 100, std::nullopt), a + b + "c1\n");   // every kept line, in order
  EXPECT_EQ(*ReadTail(path_, 100, 6), "b4\nc1\n");                  // the byte limit spans files
  EXPECT_EQ(*ReadTail(path_, std::nullopt, std::nullopt), "c1\n");  // all lines: the live file
}

TEST_F(LogFilesTest, ReadTailAcrossBlocksOfALargeFile) {
  std::string big;
  for (int i = 0; i < 200000; ++i) big += "line " + std::to_string(i) + "\n";
  Append(path_, big);
  EXPECT_EQ(*ReadTail(path_, 3, std::nullopt), "line 199997\nline 199998\nline 199999\n");
  auto many = ReadTail(path_, 20000, std::nullopt);  // spans several 64 KiB blocks
  ASSERT_TRUE(many.has_value());
  EXPECT_EQ(*many, big.substr(big.find("line 180000\n")));
  std::string long_line(200000, 'z');
  Append(path_, long_line + "\nend\n");
  EXPECT_EQ(*ReadTail(path_, 2, std::nullopt), long_line + "\nend\n");
}

TEST_F(LogFilesTest, FollowerReadsAppendsAndRestartsAfterTruncation) {
  LogFollower missing(dir_ + "/absent.log", 0);
  EXPECT_EQ(*missing.read(), "");

  Append(path_, "one\n");
  LogFollower follower(path_, 0);
  EXPECT_EQ(*follower.read(), "one\n");
  EXPECT_EQ(*follower.read(), "");
  Append(path_, "two\nthree\n");
  EXPECT_EQ(*follower.read(4), "two\n");
  EXPECT_EQ(follower.offset(), 8u);
  EXPECT_EQ(*follower.read(), "three\n");

  ASSERT_EQ(RotateIfNeeded(path_, {.max_bytes = 5, .keep = 1}), true);
  Append(path_, "x\n");
  EXPECT_EQ(*follower.read(), "x\n");
  EXPECT_EQ(follower.offset(), 2u);

  // The kept copy is the newest 5 bytes widened to their line: "three\n".
  LogFollower from_middle(path_ + ".1", 2);
  EXPECT_EQ(*from_middle.read(), "ree\n");
}

}  // namespace
}  // namespace setpoint::agent
