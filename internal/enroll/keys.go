package enroll

// MessageKeys lists every translation key a View can carry (Title, Body,
// Notice, Error, Warning, Check names), so the agent's translation files can be
// tested for completeness. Button and field labels are the window's;
// failed portal calls carry portal.Explain's keys.
func MessageKeys() []string {
	keys := []string{
		"enroll.page.clock.title", "enroll.page.clock.body",
		"enroll.page.keyring.title", "enroll.page.keyring.body",
		"enroll.keyring.unavailable", "enroll.keyring.locked",
		"enroll.notice.sign_in_again", "enroll.notice.resume_confirm", "enroll.notice.device_missing",
		"enroll.notice.new_secret",
		"enroll.test.portal", "enroll.test.device",
		"enroll.error.user_missing", "enroll.error.activation_missing", "enroll.error.input_too_long",
		"enroll.error.device_mismatch",
		"enroll.warning.disk_full", "enroll.warning.read_only", "enroll.warning.not_saved",
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
