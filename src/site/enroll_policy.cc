#include "site/enroll_policy.h"

#include <string>

namespace goldroot {

const char* enroll_policy_name(EnrollPolicy policy) {
  switch (policy) {
    case EnrollPolicy::kAdmin:
      return "admin";
    case EnrollPolicy::kFirstUse:
      return "first-use";
    case EnrollPolicy::kPort:
      return "port";
  }
  return "admin";
}

Result<EnrollPolicy> parse_enroll_policy(std::string_view text) {
  for (EnrollPolicy policy : {EnrollPolicy::kAdmin, EnrollPolicy::kFirstUse, EnrollPolicy::kPort})
    if (text == enroll_policy_name(policy)) return policy;
  return make_error(ErrorCode::kInvalidArgument, "unknown enrolment policy '" + std::string(text) +
                                                     "'; choose admin, first-use or port");
}

}  // namespace goldroot
