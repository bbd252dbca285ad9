package tunnel

// Current returns the configuration of the tunnel that is up, or ErrDown;
// the health checks take the office DNS server from it.
func (u *Userspace) Current() (Config, error) {
	_, cfg, err := u.current()
	return cfg, err
}

// Current returns the configuration of the tunnel that is up, or ErrDown.
func (s *System) Current() (Config, error) { return s.current() }
