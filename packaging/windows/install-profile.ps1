# Run by the Dienstweg MSI as SYSTEM (custom action InstallProfile) after the
# files and registry values are in place. It writes the organisation profile
# to %ProgramData%\Dienstweg\profile.json from
#   PROFILE      the JSON itself;
#   PROFILEFILE  a path to a JSON file, relative to the MSI's folder unless
#                absolute (e.g. next to the MSI on the distribution share).
# The MSI hands both over in HKLM\SOFTWARE\Dienstweg\Setup (values "Profile"
# and "ProfileFile"): a command line cannot carry JSON's quotes safely.
# Without either it leaves an existing profile alone, so repairs and upgrades
# keep what IT installed before. A profile that is not JSON fails the install.
param(
	# The MSI's own path ([OriginalDatabase]), for relative PROFILEFILE paths.
	[string]$MsiPath = ""
)
$ErrorActionPreference = "Stop"

$dir = Join-Path $env:ProgramData "Dienstweg"
$target = Join-Path $dir "profile.json"
New-Item -ItemType Directory -Force -Path $dir | Out-Null

# Only SYSTEM and Administrators may change the profile (it pins the
# portal's CA and the update keys); users read it. SIDs, not names, so this
# works on German Windows too ("Administratoren", "Benutzer").
& icacls.exe $dir /inheritance:r /grant:r "*S-1-5-18:(OI)(CI)F" "*S-1-5-32-544:(OI)(CI)F" "*S-1-5-32-545:(OI)(CI)RX" | Out-Null
if ($LASTEXITCODE -ne 0) { throw "icacls failed on $dir (exit $LASTEXITCODE)" }

$setupKey = "HKLM:\SOFTWARE\Dienstweg\Setup"
$setup = Get-ItemProperty -Path $setupKey -ErrorAction SilentlyContinue
$profileJSON = if ($setup) { $setup.Profile } else { "" }
$ProfileFile = if ($setup) { $setup.ProfileFile } else { "" }
# Both were only in transit; the file is the one place the profile lives.
if ($setup) {
	Set-ItemProperty -Path $setupKey -Name Profile -Value ""
	Set-ItemProperty -Path $setupKey -Name ProfileFile -Value ""
}

$json = ""
if ($profileJSON) {
	$json = $profileJSON
	$source = "PROFILE"
} elseif ($ProfileFile) {
	$path = $ProfileFile
	if (-not [System.IO.Path]::IsPathRooted($path) -and $MsiPath) {
		$path = Join-Path (Split-Path -Parent $MsiPath) $path
	}
	if (-not (Test-Path -LiteralPath $path -PathType Leaf)) { throw "PROFILEFILE not found: $path" }
	$json = [System.IO.File]::ReadAllText($path)
	$source = "PROFILEFILE $path"
} else {
	Write-Output "No PROFILE or PROFILEFILE given; keeping $target as it is."
	exit 0
}

try {
	$null = $json | ConvertFrom-Json
} catch {
	throw "the profile from $source is not valid JSON: $($_.Exception.Message)"
}

# Write beside the target and rename, so the agent never reads half a file;
# UTF-8 without a byte order mark, which Go's JSON decoder requires.
$tmp = "$target.new"
[System.IO.File]::WriteAllText($tmp, $json, (New-Object System.Text.UTF8Encoding($false)))
Move-Item -LiteralPath $tmp -Destination $target -Force
Write-Output "Wrote $target from $source."
