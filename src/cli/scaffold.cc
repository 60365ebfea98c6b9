#include "cli/scaffold.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <system_error>

#include "setpoint/api/yaml.h"
#include "setpoint/types/crd.h"

namespace setpoint::cli {

namespace fs = std::filesystem;

namespace {

// The SDK release the generated CMakeLists.txt asks for: the installed package accepts requests
// for its own major.minor only (docs/sdk-install.md), so this follows project(setpoint VERSION).
constexpr std::string_view kSdkVersion = "0.1";

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// RFC 1123 label: lower-case alphanumerics and '-', alphanumeric at both ends, at most 63.
bool IsDnsLabel(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s)
    if (!IsLower(c) && !IsDigit(c) && c != '-') return false;
  return s.front() != '-' && s.back() != '-';
}

// RFC 1123 subdomain with at least two labels ("example.com", not "example").
bool IsGroupName(std::string_view s) {
  if (s.size() > 253 || s.find('.') == std::string_view::npos) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = s.find('.', start);
    if (!IsDnsLabel(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start)))
      return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// v1, v2, v1alpha1, v1beta2: Kubernetes' version format (no leading zeros).
bool IsApiVersion(std::string_view s) {
  auto number = [&](std::size_t& i) {
    if (i >= s.size() || s[i] < '1' || s[i] > '9') return false;
    while (i < s.size() && IsDigit(s[i])) ++i;
    return true;
  };
  std::size_t i = 1;
  if (s.empty() || s[0] != 'v' || !number(i)) return false;
  if (i == s.size()) return true;
  for (std::string_view level : {"alpha", "beta"}) {
    if (s.substr(i, level.size()) == level) {
      i += level.size();
      return number(i) && i == s.size();
    }
  }
  return false;
}

bool IsKind(std::string_view s) {
  if (s.empty() || s.size() > 63 || !IsUpper(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsLower(c) || IsUpper(c) || IsDigit(c); });
}

// RFC 1035 label: as a DNS label, but starting with a letter (what a CRD's plural must be).
bool IsPlural(std::string_view s) { return IsDnsLabel(s) && IsLower(s[0]); }

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The prefix this binary was installed under, when it sits in <prefix>/bin next to the CMake
// package; empty otherwise (a build tree, a copied binary).
std::string InstallPrefix() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec || exe.parent_path().filename() != "bin") return "";
  const fs::path prefix = exe.parent_path().parent_path();
  for (const char* lib : {"lib", "lib64", "lib/x86_64-linux-gnu", "lib/aarch64-linux-gnu"}) {
    if (fs::exists(prefix / lib / "cmake" / "setpoint" / "setpointConfig.cmake", ec)) return prefix.string();
  }
  return "";
}

}  // namespace

std::string DefaultPlural(std::string_view singular) {
  const std::string s(singular);
  if (s.empty()) return s;
  if (s.size() >= 2 && s.back() == 'y' && std::string_view("aeiou").find(s[s.size() - 2]) == std::string_view::npos)
    return s.substr(0, s.size() - 1) + "ies";
  for (std::string_view suffix : {"s", "x", "z", "ch", "sh"}) {
    if (EndsWith(s, suffix)) return s + "es";
  }
  return s + "s";
}

std::string SnakeCase(std::string_view kind) {
  std::string out;
  for (std::size_t i = 0; i < kind.size(); ++i) {
    const char c = kind[i];
    if (IsUpper(c) && i > 0) {
      const char prev = kind[i - 1];
      const bool next_lower = i + 1 < kind.size() && IsLower(kind[i + 1]);
      // A word starts here: after a lower-case letter or a digit ("StoragePolicy", "S3Bucket"), or
      // as the last capital of an acronym that a word follows ("HTTPRoute": http_route).
      if (IsLower(prev) || IsDigit(prev) || (IsUpper(prev) && next_lower)) out += '_';
    }
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

Result<OperatorNames> DeriveNames(const InitOperatorOptions& o) {
  if (!IsGroupName(o.group)) {
    return Err(Status::Invalid("invalid --group " + Quoted(o.group) +
                               ": must be a DNS subdomain with at least one dot (lower-case letters, digits, '-' "
                               "and '.'), like cache.example.com"));
  }
  if (o.group == "k8s.io" || o.group == "kubernetes.io" || EndsWith(o.group, ".k8s.io") ||
      EndsWith(o.group, ".kubernetes.io")) {
    return Err(Status::Invalid("invalid --group " + Quoted(o.group) +
                               ": groups under k8s.io and kubernetes.io are reserved for Kubernetes; use a domain "
                               "you own, like cache.example.com"));
  }
  if (!IsApiVersion(o.version)) {
    return Err(Status::Invalid("invalid --version " + Quoted(o.version) +
                               ": must be v<N>, v<N>alpha<M> or v<N>beta<M> (no leading zeros), like v1, v1alpha1 "
                               "or v2beta3"));
  }
  if (!IsKind(o.kind)) {
    return Err(Status::Invalid("invalid --kind " + Quoted(o.kind) +
                               ": must be UpperCamelCase, letters and digits only, starting with a capital letter, "
                               "at most 63 characters, like Memcached or StoragePolicy"));
  }
  OperatorNames n;
  n.group = o.group;
  n.version = o.version;
  n.kind = o.kind;
  n.singular = Lower(o.kind);
  n.plural = o.plural.empty() ? DefaultPlural(n.singular) : o.plural;
  if (!IsPlural(n.plural)) {
    return Err(Status::Invalid(
        "invalid " + std::string(o.plural.empty() ? "plural (derived from --kind) " : "--plural ") + Quoted(n.plural) +
        ": must be lower case, letters, digits and '-', starting with a letter, at most 63 "
        "characters, like memcacheds"));
  }
  if (n.plural == n.singular) {
    return Err(Status::Invalid("invalid --plural " + Quoted(n.plural) + ": must differ from the singular " +
                               Quoted(n.singular) + " (the lower-case kind)"));
  }
  n.snake = SnakeCase(o.kind);
  n.kebab = n.snake;
  std::replace(n.kebab.begin(), n.kebab.end(), '_', '-');
  n.cxx_namespace = n.snake + "_operator";
  n.program = n.kebab + "-operator";
  n.namespaced = !o.cluster_scoped;
  return n;
}

Result<std::string> ExpandTemplate(std::string_view text, const std::map<std::string, std::string>& values,
                                   const std::map<std::string, bool>& flags) {
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  struct Open {
    std::string flag;
    bool was_emitting;
  };
  std::vector<Open> sections;
  bool emitting = true;
  std::size_t pos = 0;
  while (true) {
    const std::size_t open = text.find("{%", pos);
    if (open == std::string_view::npos) break;
    const std::size_t close = text.find("%}", open + 2);
    if (close == std::string_view::npos)
      return Err(Status::BadRequest("unclosed {% at offset " + std::to_string(open)));
    const std::string_view tag = text.substr(open + 2, close - open - 2);
    if (tag.empty()) return Err(Status::BadRequest("empty {%%} at offset " + std::to_string(open)));
    if (tag[0] != '#' && tag[0] != '^' && tag[0] != '/') {
      auto v = values.find(std::string(tag));
      if (v == values.end()) return Err(Status::BadRequest("unknown name {%" + std::string(tag) + "%}"));
      if (emitting) out.append(text.substr(pos, open - pos)).append(v->second);
      pos = close + 2;
      continue;
    }
    // A section tag. Alone on its line (only blanks around it), it takes the whole line.
    const std::size_t line_start = text.rfind('\n', open) == std::string_view::npos ? 0 : text.rfind('\n', open) + 1;
    std::size_t line_end = text.find('\n', close + 2);
    if (line_end == std::string_view::npos) line_end = text.size();
    auto blank = [&](std::size_t from, std::size_t to) {
      return std::all_of(text.begin() + from, text.begin() + to, [](char c) { return c == ' ' || c == '\t'; });
    };
    const bool standalone = line_start >= pos && blank(line_start, open) && blank(close + 2, line_end);
    if (emitting) out.append(text.substr(pos, (standalone ? line_start : open) - pos));
    pos = standalone ? std::min(text.size(), line_end + 1) : close + 2;

    const std::string flag(tag.substr(1));
    if (tag[0] == '/') {
      if (sections.empty() || sections.back().flag != flag)
        return Err(Status::BadRequest("unbalanced {%/" + flag + "%} at offset " + std::to_string(open)));
      emitting = sections.back().was_emitting;
      sections.pop_back();
      continue;
    }
    auto f = flags.find(flag);
    if (f == flags.end()) return Err(Status::BadRequest("unknown flag {%" + std::string(tag) + "%}"));
    sections.push_back({flag, emitting});
    emitting = emitting && (tag[0] == '#' ? f->second : !f->second);
  }
  if (!sections.empty()) return Err(Status::BadRequest("unclosed section {%#" + sections.back().flag + "%}"));
  out.append(text.substr(pos));
  return out;
}

namespace {

// The example kind exactly as src/<snake>_types.h declares it (kTypes in scaffold_templates.cc):
// the same members, schema hooks and options, so that the config/crd.yaml written here is what the
// generated project's `--crd` prints. Its test checks that, and scaffold_test.sh runs it.
struct ScaffoldSpec {
  std::int32_t size = 1;
  std::string note;
  static void schema(types::Schema& s) {
    s.description("What the user wants. Replace these example fields with your own.");
    s["size"].minimum(1).maximum(10).default_value(1).description("An example number, from 1 to 10 (1 when left out).");
    s["note"].max_length(256).description("An example string.");
  }
};
BOOST_DESCRIBE_STRUCT(ScaffoldSpec, (), (size, note))

struct ScaffoldStatus {
  std::int64_t observedGeneration = 0;
  std::vector<types::Condition> conditions;
  static void schema(types::Schema& s) {
    s.description("What the operator observed. Written by the operator only.");
    s["observedGeneration"].minimum(0).description("The metadata.generation (spec version) the status describes.");
    s["conditions"].description("The state as metav1.Conditions, one per type (Available, Degraded).");
  }
};
BOOST_DESCRIBE_STRUCT(ScaffoldStatus, (), (observedGeneration, conditions))

struct ScaffoldObject : types::Object {
  ScaffoldSpec spec;
  ScaffoldStatus status;
  static void schema(types::Schema& s) { s["spec"].default_value(boost::json::object()); }
};
BOOST_DESCRIBE_STRUCT(ScaffoldObject, (types::Object), (spec, status))

std::string GeneratedCrd(const OperatorNames& n) {
  const types::Kind kind{n.group, n.version, n.kind, n.plural, n.namespaced};
  const types::CrdOptions options{
      .columns = {{"Size", "integer", ".spec.size"},
                  {"Available", "string", R"(.status.conditions[?(@.type=="Available")].status)"},
                  {"Reason", "string", R"(.status.conditions[?(@.type=="Available")].reason)", "", 1},
                  {"Degraded", "string", R"(.status.conditions[?(@.type=="Degraded")].status)", "", 1}},
      .description = n.kind + " is the Schema for the " + n.plural + " API."};
  return "# The CustomResourceDefinition of " + n.kind + " (" + n.group + "/" + n.version + "), generated from src/" +
         n.snake +
         "_types.h:\n"
         "#   cmake --build build --target crd      (after changing the types; the test checks this file)\n"
         "# Install it before running the operator: setpoint apply -f config/crd.yaml (or kubectl apply).\n" +
         api::JsonToYaml(types::MakeCrd(kind, types::SchemaOf<ScaffoldObject>(), options)) + "\n";
}

}  // namespace

Result<std::vector<ProjectFile>> RenderOperatorProject(const OperatorNames& n) {
  const std::map<std::string, std::string> values{
      {"group", n.group},
      {"version", n.version},
      {"kind", n.kind},
      {"singular", n.singular},
      {"plural", n.plural},
      {"snake", n.snake},
      {"kebab", n.kebab},
      {"ns", n.cxx_namespace},
      {"program", n.program},
      {"api_version", n.group + "/" + n.version},
      {"crd_name", n.plural + "." + n.group},
      {"finalizer", n.group + "/finalizer"},
      {"scope", n.namespaced ? "Namespaced" : "Cluster"},
      {"scope_lower", n.namespaced ? "namespaced" : "cluster-scoped"},
      {"namespaced_bool", n.namespaced ? "true" : "false"},
      {"sample", n.kebab + "-sample"},
      {"sdk_version", std::string(kSdkVersion)},
  };
  const std::map<std::string, bool> flags{{"namespaced", n.namespaced}};
  std::vector<ProjectFile> files;
  files.push_back({"config/crd.yaml", GeneratedCrd(n)});
  for (const ProjectTemplate& t : OperatorTemplates()) {
    auto path = ExpandTemplate(t.path, values, flags);
    if (!path) return Err(path.error());
    auto content = ExpandTemplate(t.text, values, flags);
    if (!content) return Err(Status::Internal("template " + *path + ": " + content.error().message()));
    files.push_back({std::move(*path), std::move(*content)});
  }
  return files;
}

int InitOperator(const InitOperatorOptions& options, std::ostream& out, std::ostream& err) {
  auto names = DeriveNames(options);
  if (!names) {
    err << "error: " << names.error().message() << "\n";
    return 2;
  }
  if (options.dir.empty()) {
    err << "error: DIR is required: the directory to create the project in\n";
    return 2;
  }
  const fs::path dir(options.dir);
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) {
      err << "error: " << dir.string() << " exists and is not a directory\n";
      return 2;
    }
    const bool empty = fs::is_empty(dir, ec);
    if (ec) {
      err << "error: cannot read " << dir.string() << ": " << ec.message() << "\n";
      return 1;
    }
    if (!empty && !options.force) {
      err << "error: " << dir.string()
          << " is not empty; choose a new directory, or pass --force to write the project into it (files of "
             "the same names are replaced, others are left alone)\n";
      return 2;
    }
  }
  auto files = RenderOperatorProject(*names);
  if (!files) {
    err << "error: " << files.error().message() << "\n";
    return 1;
  }
  for (const ProjectFile& f : *files) {
    const fs::path path = dir / f.path;
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
      err << "error: cannot create " << path.parent_path().string() << ": " << ec.message() << "\n";
      return 1;
    }
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file << f.content;
    file.close();
    if (!file) {
      err << "error: cannot write " << path.string() << "\n";
      return 1;
    }
  }

  const OperatorNames& n = *names;
  out << "Created " << n.program << " in " << dir.string() << ": an operator for " << n.kind << " (" << n.group << "/"
      << n.version << ", " << n.plural << ", " << (n.namespaced ? "namespaced" : "cluster-scoped") << ")\n";
  for (const ProjectFile& f : *files) out << "  " << f.path << "\n";
  std::string prefix = InstallPrefix();
  const bool guessed = !prefix.empty();
  if (!guessed) prefix = "<the setpoint install prefix>";
  out << "\nNext: build it and run its test" << (guessed ? " (against the SDK installed with this setpoint)" : "")
      << ":\n"
      << "  cd " << dir.string() << "\n"
      << "  cmake -S . -B build -DCMAKE_PREFIX_PATH=" << prefix << "\n"
      << "  cmake --build build && ctest --test-dir build --output-on-failure\n"
      << "then README.md: install config/crd.yaml, run the operator against `setpoint server`, apply "
         "config/sample.yaml. Your logic goes where src/"
      << n.snake << "_controller.cc says TODO(" << n.kind << ").\n";
  return 0;
}

}  // namespace setpoint::cli
