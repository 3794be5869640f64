#include "cli/command.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "base/strings.h"

namespace goldroot::cli {

static void print_table(std::span<const Command> table, const std::string& prefix) {
  std::printf("usage: %s COMMAND [ARGS…]\n\ncommands:\n", prefix.c_str());
  for (const Command& command : table) {
    if (*command.summary == '\0') continue;  // hidden developer commands
    std::printf("  %-12s %s\n", command.name, command.summary);
  }
  std::printf("\nRun '%s COMMAND --help' for a command's options.\n", prefix.c_str());
}

Result<int> dispatch(Context& context, std::span<const Command> table, const Args& args,
                     const std::string& prefix) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_table(table, prefix);
    return args.empty() ? 2 : 0;
  }
  for (const Command& command : table) {
    if (args[0] == command.name)
      return command.handler(context, Args(args.begin() + 1, args.end()));
  }
  const Command* nearest = nullptr;
  size_t best = 3;
  for (const Command& command : table) {
    size_t distance = edit_distance(args[0], command.name);
    if (distance < best) {
      best = distance;
      nearest = &command;
    }
  }
  std::string message = "unknown command '" + prefix + " " + args[0] + "'";
  if (nearest) message += "; did you mean '" + prefix + " " + nearest->name + "'?";
  else message += "; run '" + prefix + " --help' for the list";
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return 2;
}

std::optional<int> parse_args(CLI::App& app, const Args& args) {
  std::vector<const char*> argv;
  std::string program = app.get_name();
  argv.push_back(program.c_str());
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp& e) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: %s; see '%s --help'\n", e.what(), program.c_str());
    return 2;
  }
  return std::nullopt;
}

void print_json(const nlohmann::json& value) {
  std::cout << value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

std::string current_user() {
  for (const char* variable : {"SUDO_USER", "USER"}) {
    const char* value = std::getenv(variable);
    if (value && *value) return value;
  }
  return "uid " + std::to_string(::getuid());
}

}  // namespace goldroot::cli
