// libFuzzer: the layer template engine (layer files ending in .tmpl),
// rendering arbitrary template text with a host's usual variables.
#include <cstdint>
#include <string>
#include <string_view>

#include "layer/template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A value holding "{{ ... }}" must come out as text, never expand again.
  static const goldroot::TemplateVariables variables = {
      {"hostname", "pc01"}, {"ip", "10.1.0.10"},   {"mac", "52:54:00:00:00:01"},
      {"lab", "lab1"},      {"var.room", "B12"},   {"empty", ""},
      {"var.braces", "{{ hostname }}"}, {"var.long", std::string(300, 'x')}};
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto rendered = goldroot::render_template(text, variables, "fuzz.tmpl");
  // Text without "{{" is copied unchanged.
  if (text.find("{{") == std::string_view::npos && (!rendered.ok() || *rendered != text))
    __builtin_trap();
  return 0;
}
