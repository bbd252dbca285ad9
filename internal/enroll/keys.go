package enroll

// MessageKeys lists every translation key a View can carry (Title, Body,
// Notice, Error, Check names), so the agent's translation files can be
// tested for completeness. Button and field labels are the window's.
func MessageKeys() []string {
	keys := []string{
		"enroll.page.clock.title", "enroll.page.clock.body",
		"enroll.page.keyring.title", "enroll.page.keyring.body",
		"enroll.keyring.unavailable", "enroll.keyring.locked",
		"enroll.notice.sign_in_again", "enroll.notice.resume_confirm", "enroll.notice.device_missing",
		"enroll.test.portal", "enroll.test.device",
		"enroll.error.user_missing", "enroll.error.activation_missing", "enroll.error.input_too_long",
		"enroll.error.invalid_login", "enroll.error.invalid_login_attempts",
		"enroll.error.activation_expired", "enroll.error.activation_used", "enroll.error.enrollment_expired",
		"enroll.error.wrong_code", "enroll.error.wrong_code_attempts",
		"enroll.error.code_reused", "enroll.error.locked", "enroll.error.locked_until",
		"enroll.error.busy", "enroll.error.unreachable", "enroll.error.certificate", "enroll.error.clock",
		"enroll.error.device_unauthorised", "enroll.error.device_mismatch",
		"enroll.error.portal", "enroll.error.unexpected",
	}
	for _, s := range steps {
		keys = append(keys, "enroll."+string(s)+".title", "enroll."+string(s)+".body")
	}
	for _, d := range []string{"ahead", "behind"} {
		for _, u := range []string{"one_minute", "minutes", "hours"} {
			keys = append(keys, "enroll.clock."+d+"_"+u)
		}
	}
	return keys
}
