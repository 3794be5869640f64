// Template rendering for layer files ending in `.tmpl`.
//
// Syntax: `{{ NAME }}` is replaced by the variable NAME (spaces inside the
// braces are optional); NAME is letters, digits, '_' and '.', e.g.
// `{{ hostname }}` or `{{ var.room }}`. `\{{` writes a literal `{{`. A lone
// `}}` is ordinary text (JSON and shell files are full of them).
//
// Errors name the file and the line: an unclosed `{{`, an empty or malformed
// name, and a variable the host does not have — never an empty string.
// Pure function; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "base/result.h"

namespace goldroot {

using TemplateVariables = std::map<std::string, std::string, std::less<>>;

// `file` names the template in errors ("labs/lab3/etc/motd.tmpl").
Result<std::string> render_template(std::string_view text, const TemplateVariables& variables,
                                    const std::string& file);

}  // namespace goldroot
