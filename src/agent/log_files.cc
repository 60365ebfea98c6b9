// Log files of supervised processes. Rotation is copy-and-truncate because the child holds the
// file open with O_APPEND and must keep writing to the same path without being told: after the
// truncate its next write lands at the new end (offset 0).
#include "agent/log_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <limits>
#include <mutex>
#include <vector>

#include <spdlog/spdlog.h>

namespace setpoint::agent {
namespace {

constexpr std::int64_t kBlock = 64 * 1024;
// More rotated files than any policy keeps: the bound of a tail's walk through them.
constexpr int kMaxRotatedFiles = 64;

std::string ErrnoText(int err) {
  char buf[128];
  std::string s = strerror_r(err, buf, sizeof buf);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) close(fd);
  }
};

Status OpenError(const std::string& path, int err) {
  std::string msg = "open " + path + ": " + ErrnoText(err);
  if (err == ENOENT) return Status::NotFound(msg);
  if (err == EACCES) return Status::Forbidden(msg);
  return Status::Internal(msg);
}

// Reads up to out.size() bytes at `offset`; shrinks `out` to what was there (the file may have
// been truncated meanwhile). Returns 0 or an errno.
int PreadAll(int fd, std::string& out, std::int64_t offset) {
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return 0;
}

// Copies bytes [start, end) of `from` into the new file `to` — a bounded range, since a writer
// may be appending faster than this copies. Returns 0 or an errno.
int CopyInto(int from, std::int64_t start, std::int64_t end, const std::string& to) {
  int out = open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (out < 0) return errno;
  FdCloser closer{out};
  std::string buf;
  for (std::int64_t offset = start; offset < end; offset += static_cast<std::int64_t>(buf.size())) {
    buf.resize(static_cast<std::size_t>(std::min<std::int64_t>(kBlock, end - offset)));
    if (int err = PreadAll(from, buf, offset)) return err;
    if (buf.empty()) break;
    for (size_t done = 0; done < buf.size();) {
      ssize_t n = write(out, buf.data() + done, buf.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno;
      done += static_cast<size_t>(n);
    }
  }
  closer.fd = -1;
  return close(out) == 0 ? 0 : errno;
}

// Rotations of different files are rare and short; one lock keeps two rotations of the same
// file from interleaving their renames.
std::mutex& RotationMutex() {
  static std::mutex mu;
  return mu;
}

}  // namespace

Result<bool> RotateIfNeeded(const std::string& path, const RotationPolicy& policy) {
  std::lock_guard lock(RotationMutex());
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return false;
    return Err(OpenError(path, errno));
  }
  FdCloser closer{fd};
  struct stat st;
  if (fstat(fd, &st) < 0) return Err(Status::Internal("stat " + path + ": " + ErrnoText(errno)));
  if (static_cast<std::uint64_t>(st.st_size) <= policy.max_bytes) return false;

  if (policy.keep > 0) {
    // Copy first and shift only once the copy exists, so a failed copy loses no old file. Only
    // the newest max_bytes are kept, widened back to the start of their first line (at most 4 KiB
    // more): a file far past the limit (a flood between two checks) costs `keep` × max_bytes on
    // disk however fast its writer is.
    std::int64_t start = st.st_size - static_cast<std::int64_t>(policy.max_bytes);
    if (start > 0) {
      const std::int64_t from = std::max<std::int64_t>(0, start - 4096);
      std::string back(static_cast<std::size_t>(start - from), '\0');
      if (PreadAll(fd, back, from) == 0)
        if (auto nl = back.rfind('\n'); nl != std::string::npos) start = from + static_cast<std::int64_t>(nl) + 1;
    }
    start = std::max<std::int64_t>(0, start);
    std::string tmp = path + ".1.tmp";
    int err = CopyInto(fd, start, st.st_size, tmp);
    if (err == 0) {
      for (int i = policy.keep; i >= 1; --i) {
        std::string from = path + "." + std::to_string(i);
        if (i == policy.keep) {
          unlink(from.c_str());
        } else {
          rename(from.c_str(), (path + "." + std::to_string(i + 1)).c_str());  // ENOENT is fine
        }
      }
      if (rename(tmp.c_str(), (path + ".1").c_str()) < 0) err = errno;
    }
    if (err != 0) {
      unlink(tmp.c_str());
      // A full disk is what rotation exists to prevent: give up the copy, still truncate.
      if (err != ENOSPC) {
        return Err(Status::Internal("rotate " + path + ": " + ErrnoText(err)));
      }
      spdlog::warn("rotate {}: disk full, truncating without keeping a copy", path);
    }
  }
  if (ftruncate(fd, 0) < 0) {
    return Err(Status::Internal("truncate " + path + ": " + ErrnoText(errno)));
  }
  return true;
}

namespace {

// ReadTail of one file, without looking at the files rotated out of it.
Result<std::string> ReadTailOfFile(const std::string& path, std::optional<std::int64_t> lines,
                                   std::optional<std::int64_t> limit_bytes) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Err(OpenError(path, errno));
  FdCloser closer{fd};
  struct stat st;
  if (fstat(fd, &st) < 0) return Err(Status::Internal("stat " + path + ": " + ErrnoText(errno)));
  const std::int64_t size = st.st_size;
  const std::int64_t limit = limit_bytes ? std::max<std::int64_t>(0, *limit_bytes) : size;
  const std::int64_t lower = std::max<std::int64_t>(0, size - limit);
  if (lines && *lines <= 0) return std::string();
  auto read_error = [&](int err) { return Err(Status::Internal("read " + path + ": " + ErrnoText(err))); };
  if (!lines) {
    std::string out(static_cast<size_t>(size - lower), '\0');
    if (int err = PreadAll(fd, out, lower)) return read_error(err);
    return out;
  }
  // Backwards block by block until `lines` line breaks are behind us. The file's final '\n'
  // ends its last line rather than starting an empty one, so it does not count.
  std::vector<std::string> blocks;  // newest first
  std::int64_t first = size;        // where the oldest block read starts
  std::int64_t start = lower;       // where the tail starts
  std::int64_t breaks = *lines;
  bool found = false;
  while (first > lower && !found) {
    std::int64_t begin = std::max(lower, first - kBlock);
    std::string block(static_cast<size_t>(first - begin), '\0');
    if (int err = PreadAll(fd, block, begin)) return read_error(err);
    for (std::int64_t i = static_cast<std::int64_t>(block.size()) - 1; i >= 0; --i) {
      if (block[i] != '\n' || begin + i == size - 1) continue;
      if (--breaks == 0) {
        start = begin + i + 1;
        found = true;
        break;
      }
    }
    blocks.push_back(std::move(block));
    first = begin;
  }
  std::string out;
  out.reserve(static_cast<size_t>(size - start));
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) out += *it;
  out.erase(0, static_cast<size_t>(std::min<std::int64_t>(start - first, out.size())));
  return out;
}

std::int64_t CountLines(const std::string& text) {
  auto breaks = static_cast<std::int64_t>(std::count(text.begin(), text.end(), '\n'));
  return breaks + (!text.empty() && text.back() != '\n' ? 1 : 0);
}

}  // namespace

Result<std::string> ReadTail(const std::string& path, std::optional<std::int64_t> lines,
                             std::optional<std::int64_t> limit_bytes) {
  auto out = ReadTailOfFile(path, lines, limit_bytes);
  if (!out || !lines) return out;
  // A rotation may just have emptied the live file: the rest of the tail is in the files rotated
  // out of it, newest (.1) first, as far as the line and byte limits reach.
  for (int n = 1; n <= kMaxRotatedFiles; ++n) {
    const std::int64_t missing = *lines - CountLines(*out);
    const std::int64_t room =
        limit_bytes ? *limit_bytes - static_cast<std::int64_t>(out->size()) : std::numeric_limits<std::int64_t>::max();
    if (missing <= 0 || room <= 0) break;
    auto older =
        ReadTailOfFile(path + "." + std::to_string(n), missing, limit_bytes ? std::optional(room) : std::nullopt);
    if (!older) {
      if (older.error().code() == StatusCode::kNotFound) break;
      return older;
    }
    *out = std::move(*older) + *out;
  }
  return out;
}

LogFollower::LogFollower(std::string path, std::uint64_t offset) : path_(std::move(path)), offset_(offset) {}

Result<std::string> LogFollower::read(std::size_t max_bytes) {
  int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::string();  // not written yet, or between rotation steps
    return Err(OpenError(path_, errno));
  }
  FdCloser closer{fd};
  struct stat st;
  if (fstat(fd, &st) < 0) return Err(Status::Internal("stat " + path_ + ": " + ErrnoText(errno)));
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size < offset_) offset_ = 0;  // truncated by a rotation: the new content starts at 0
  std::string out(static_cast<size_t>(std::min<std::uint64_t>(max_bytes, size - offset_)), '\0');
  if (int err = PreadAll(fd, out, static_cast<std::int64_t>(offset_))) {
    return Err(Status::Internal("read " + path_ + ": " + ErrnoText(err)));
  }
  offset_ += out.size();
  return out;
}

}  // namespace setpoint::agent
