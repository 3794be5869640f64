#include "layer/template.h"

#include "base/testing/testing.h"

namespace goldroot {
namespace {

const TemplateVariables kVariables = {
    {"hostname", "pc1"}, {"ip", "10.1.0.10"}, {"var.room", "B12"}, {"empty", ""}};

TEST(TemplateTest, SubstitutesVariables) {
  ASSERT_OK_AND_ASSIGN(std::string out,
                       render_template("{{hostname}} {{ ip }}\troom {{  var.room }}{{ empty }}\n",
                                       kVariables, "t.tmpl"));
  EXPECT_EQ(out, "pc1 10.1.0.10\troom B12\n");
}

TEST(TemplateTest, LoneClosingBracesAndEscapesAreText) {
  ASSERT_OK_AND_ASSIGN(std::string out,
                       render_template("{\"a\": {\"b\": 1}}\n\\{{ hostname }}\n", kVariables, "t"));
  EXPECT_EQ(out, "{\"a\": {\"b\": 1}}\n{{ hostname }}\n");
}

TEST(TemplateTest, MissingVariableNamesFileLineAndVariable) {
  auto out = render_template("line one\n\nnameserver {{ dns }}\n", kVariables,
                             "labs/lab1/etc/resolv.conf.tmpl");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message,
            "labs/lab1/etc/resolv.conf.tmpl:3: variable 'dns' is not defined for this host");
}

TEST(TemplateTest, SyntaxErrorsNameTheLine) {
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {"a\n{{ hostname\n}}\n", "t.tmpl:2: '{{' is not closed with '}}' on the same line"},
      {"{{ hostname", "t.tmpl:1: '{{' is not closed with '}}' on the same line"},
      {"x\ny\n{{ }}", "t.tmpl:3: '{{ }}' names no variable"},
      {"{{ host name }}",
       "t.tmpl:1: 'host name' is not a variable name (letters, digits, '_' and '.')"},
  };
  for (const Case& c : cases) {
    auto out = render_template(c.text, kVariables, "t.tmpl");
    ASSERT_FALSE(out.ok()) << c.text;
    EXPECT_EQ(out.error().message, c.message);
  }
}

}  // namespace
}  // namespace goldroot
