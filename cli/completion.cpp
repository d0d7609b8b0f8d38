#include "completion.hpp"

#include <fmt/format.h>

#include "common.hpp"

namespace asyncfs::cli {

namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : " ") + s;
  return out;
}

std::vector<std::string> names_of(const std::vector<CommandSpec>& cmds) {
  std::vector<std::string> out;
  for (const auto& c : cmds) out.push_back(c.name);
  return out;
}

std::vector<std::string> url_hints(const std::vector<std::string>& protocols) {
  std::vector<std::string> out;
  for (const auto& p : protocols) out.push_back(p + "://");
  return out;
}

// Descriptions go inside double quotes in fish.
std::string fish_quoted(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\' || c == '$') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Completion words per command path ("", "ls", "firecrest submit"): the same table drives
// the bash and zsh functions.
struct Row {
  std::string key;
  std::string options;
  std::string subcommands;
};

void collect(const CommandSpec& cmd, const std::string& key, std::vector<Row>& rows) {
  rows.push_back(Row{key, joined(cmd.options), joined(names_of(cmd.subcommands))});
  for (const auto& sub : cmd.subcommands) {
    collect(sub, key.empty() ? sub.name : key + " " + sub.name, rows);
  }
}

// Finds the command path typed so far: the first two words that are not options, the second
// only when the first has subcommands of its own.
std::string path_finder(const CommandSpec& root) {
  std::string groups;
  for (const auto& c : root.subcommands) {
    if (!c.subcommands.empty()) groups += (groups.empty() ? "" : "|") + c.name;
  }
  if (groups.empty()) groups = "__none__";
  return fmt::format(
      "    if [[ -z $cmd ]]; then cmd=$w\n"
      "    elif [[ -z $sub ]]; then case $cmd in {}) sub=$w ;; esac\n"
      "    fi\n",
      groups);
}

std::string bash_script(const CommandSpec& root, const std::vector<std::string>& protocols) {
  std::vector<Row> rows;
  collect(root, "", rows);
  std::string cases;
  for (const auto& r : rows) {
    cases +=
        fmt::format("    \"{}\") opts=\"{}\"; subs=\"{}\" ;;\n", r.key, r.options, r.subcommands);
  }
  return fmt::format(
      "# bash completion for asyncfs. Load it with: source <(asyncfs completion bash)\n"
      "_asyncfs() {{\n"
      "  local cur=\"${{COMP_WORDS[COMP_CWORD]}}\" cmd=\"\" sub=\"\" w i opts=\"\" subs=\"\"\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    w=\"${{COMP_WORDS[i]}}\"\n"
      "    [[ $w == -* ]] && continue\n"
      "{}"
      "  done\n"
      "  case \"$cmd${{sub:+ $sub}}\" in\n"
      "{}"
      "  esac\n"
      "  if [[ $cur == -* ]]; then\n"
      "    COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
      "  elif [[ -n $subs ]]; then\n"
      "    COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
      "  elif [[ $cmd == completion ]]; then\n"
      "    COMPREPLY=($(compgen -W \"bash zsh fish\" -- \"$cur\"))\n"
      "  else\n"
      "    # A URL: a protocol prefix, or a local file.\n"
      "    COMPREPLY=($(compgen -W \"{}\" -- \"$cur\") $(compgen -f -- \"$cur\"))\n"
      "    [[ ${{#COMPREPLY[@]}} -eq 1 && ${{COMPREPLY[0]}} == *:// ]] && compopt -o nospace "
      "2>/dev/null\n"
      "  fi\n"
      "  return 0\n"
      "}}\n"
      "complete -o filenames -F _asyncfs asyncfs\n",
      path_finder(root), cases, joined(url_hints(protocols)));
}

std::string zsh_script(const CommandSpec& root, const std::vector<std::string>& protocols) {
  std::vector<Row> rows;
  collect(root, "", rows);
  std::string cases;
  for (const auto& r : rows) {
    cases += fmt::format("    \"{}\") opts=({}); subs=({}) ;;\n", r.key, r.options, r.subcommands);
  }
  return fmt::format(
      "#compdef asyncfs\n"
      "# zsh completion for asyncfs. Load it with: source <(asyncfs completion zsh)\n"
      "# (after compinit), or save it as _asyncfs in a directory of $fpath.\n"
      "_asyncfs() {{\n"
      "  local cmd=\"\" sub=\"\" w i\n"
      "  local -a opts subs\n"
      "  for ((i = 2; i < CURRENT; i++)); do\n"
      "    w=${{words[i]}}\n"
      "    [[ $w == -* ]] && continue\n"
      "{}"
      "  done\n"
      "  case \"$cmd${{sub:+ $sub}}\" in\n"
      "{}"
      "  esac\n"
      "  if [[ $PREFIX == -* ]]; then\n"
      "    compadd -- $opts\n"
      "  elif (( $#subs )); then\n"
      "    compadd -- $subs\n"
      "  elif [[ $cmd == completion ]]; then\n"
      "    compadd -- bash zsh fish\n"
      "  else\n"
      "    compadd -S '' -- {}\n"
      "    _files\n"
      "  fi\n"
      "}}\n"
      "if [[ $zsh_eval_context[-1] == loadautofunc ]]; then _asyncfs \"$@\"; "
      "else compdef _asyncfs asyncfs; fi\n",
      path_finder(root), cases, joined(url_hints(protocols)));
}

// fish names options by their letters: "-l" is `-s l`, "--long" is `-l long`.
std::string fish_options(const std::vector<std::string>& options) {
  std::string out;
  for (const auto& o : options) {
    if (o.starts_with("--")) {
      out += " -l " + o.substr(2);
    } else if (o.starts_with("-")) {
      out += " -s " + o.substr(1);
    }
  }
  return out;
}

std::string fish_script(const CommandSpec& root, const std::vector<std::string>& protocols) {
  std::string out =
      "# fish completion for asyncfs. Load it with: asyncfs completion fish | source\n"
      "complete -c asyncfs -f\n";
  if (!root.options.empty()) {
    out += "complete -c asyncfs -n __fish_use_subcommand" + fish_options(root.options) + "\n";
  }
  std::string url_commands;
  for (const auto& c : root.subcommands) {
    out += fmt::format("complete -c asyncfs -n __fish_use_subcommand -a {} -d {}\n", c.name,
                       fish_quoted(c.description));
    const std::string seen = "__fish_seen_subcommand_from " + c.name;
    for (const auto& o : c.options) {
      const std::string one = fish_options({o});
      if (!one.empty()) out += fmt::format("complete -c asyncfs -n '{}'{}\n", seen, one);
    }
    if (c.subcommands.empty()) {
      if (c.name != "completion") url_commands += " " + c.name;
      continue;
    }
    const std::string subs = joined(names_of(c.subcommands));
    for (const auto& s : c.subcommands) {
      out += fmt::format(
          "complete -c asyncfs -n '{}; and not __fish_seen_subcommand_from {}' -a {} -d {}\n", seen,
          subs, s.name, fish_quoted(s.description));
      for (const auto& o : s.options) {
        const std::string one = fish_options({o});
        if (!one.empty()) {
          out += fmt::format("complete -c asyncfs -n '{}; and __fish_seen_subcommand_from {}'{}\n",
                             seen, s.name, one);
        }
      }
    }
  }
  out += "complete -c asyncfs -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'\n";
  out += fmt::format("complete -c asyncfs -n '__fish_seen_subcommand_from{}' -F -a '{}'\n",
                     url_commands, joined(url_hints(protocols)));
  return out;
}

}  // namespace

std::string completion_script(std::string_view shell, const CommandSpec& root,
                              const std::vector<std::string>& protocols) {
  if (shell == "bash") return bash_script(root, protocols);
  if (shell == "zsh") return zsh_script(root, protocols);
  if (shell == "fish") return fish_script(root, protocols);
  throw UsageError(
      fmt::format("completion: unknown shell '{}' (bash, zsh or fish)", one_line(shell)));
}

}  // namespace asyncfs::cli
