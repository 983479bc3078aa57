; The sesshu terminal's Windows installer (NSIS 3, Unicode), built from Linux by
; scripts/build-windows.sh with Debian's makensis. Tauri's own NSIS bundler is not used: it
; downloads its NSIS toolchain and plug-ins at build time, which the closed build network
; does not allow, and cross-bundles only through cargo-xwin / the MSVC target.
;
; Per-machine: installs into Program Files (64-bit) for every user and needs administrator
; rights, as municipal IT deploys it; each staff member's ledger lives in their own
; %LOCALAPPDATA%\jp.sesshu.terminal, which the uninstaller never touches.
;
; Defines passed by the build script:
;   /DVERSION=0.1.0          product version (from src-tauri/tauri.conf.json)
;   /DSRC_DIR=...            folder holding sesshu-desktop.exe and WebView2Loader.dll
;   /DICON=...               icons/icon.ico
;   /DOUT_FILE=...           the installer to write
;   /DWEBVIEW2_INSTALLER=... optional: Microsoft's WebView2 Evergreen *Standalone* installer
;                            (MicrosoftEdgeWebView2RuntimeInstallerX64.exe), embedded and run
;                            when the runtime is missing. The small *bootstrapper* is useless
;                            here: it downloads the runtime, and LGWAN terminals have no
;                            Internet access.

Unicode true
SetCompressor /SOLID lzma
ManifestDPIAware true
RequestExecutionLevel admin

!include "MUI2.nsh"
!include "x64.nsh"
!include "LogicLib.nsh"

!ifndef VERSION
  !error "VERSION not defined"
!endif
!ifndef SRC_DIR
  !error "SRC_DIR not defined"
!endif

!define PRODUCT "sesshu"
!define PRODUCT_JA "sesshu 予防接種記録入力"
!define IDENTIFIER "jp.sesshu.terminal"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${IDENTIFIER}"
; The WebView2 Runtime's EdgeUpdate client id (same for every channel of the Evergreen runtime).
!define WEBVIEW2_GUID "{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}"

Name "${PRODUCT_JA}"
OutFile "${OUT_FILE}"
InstallDir "$PROGRAMFILES64\${PRODUCT}"
BrandingText "${PRODUCT} ${VERSION}"
VIProductVersion "${VERSION}.0"
VIAddVersionKey /LANG=1041 "ProductName" "${PRODUCT_JA}"
VIAddVersionKey /LANG=1041 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=1041 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=1041 "FileDescription" "${PRODUCT_JA} インストーラー"
VIAddVersionKey /LANG=1041 "LegalCopyright" "sesshu"

!ifdef ICON
  !define MUI_ICON "${ICON}"
  !define MUI_UNICON "${ICON}"
!endif
!define MUI_ABORTWARNING

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "Japanese"

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP "このソフトウェアは 64 ビット版 Windows 専用です。" /SD IDOK
    Abort
  ${EndIf}
  ; Program Files, not Program Files (x86), and the 64-bit registry view.
  SetRegView 64
FunctionEnd

Function un.onInit
  SetRegView 64
FunctionEnd

; True when the WebView2 Runtime is installed per machine (either registry view) or for the
; current user.
Function WebView2Present
  Push $0
  ReadRegStr $0 HKLM "SOFTWARE\WOW6432Node\Microsoft\EdgeUpdate\Clients\${WEBVIEW2_GUID}" "pv"
  ${If} $0 == ""
  ${OrIf} $0 == "0.0.0.0"
    ReadRegStr $0 HKLM "SOFTWARE\Microsoft\EdgeUpdate\Clients\${WEBVIEW2_GUID}" "pv"
  ${EndIf}
  ${If} $0 == ""
  ${OrIf} $0 == "0.0.0.0"
    ReadRegStr $0 HKCU "Software\Microsoft\EdgeUpdate\Clients\${WEBVIEW2_GUID}" "pv"
  ${EndIf}
  ${If} $0 == "0.0.0.0"
    StrCpy $0 ""
  ${EndIf}
  Exch $0
FunctionEnd

Section "sesshu" SecMain
  SectionIn RO
  SetShellVarContext all
  SetOutPath "$INSTDIR"
  File "${SRC_DIR}\sesshu-desktop.exe"
  File "${SRC_DIR}\WebView2Loader.dll"

  ; The window is a WebView2: Windows 11 and current Windows 10 ship the runtime.
  Call WebView2Present
  Pop $0
  ${If} $0 == ""
!ifdef WEBVIEW2_INSTALLER
    DetailPrint "WebView2 ランタイムをインストールしています…"
    SetOutPath "$PLUGINSDIR"
    File "/oname=webview2-runtime.exe" "${WEBVIEW2_INSTALLER}"
    ExecWait '"$PLUGINSDIR\webview2-runtime.exe" /silent /install' $1
    SetOutPath "$INSTDIR"
    DetailPrint "WebView2 ランタイムのインストーラーの終了コード: $1"
!else
    MessageBox MB_ICONEXCLAMATION "Microsoft Edge WebView2 ランタイムが見つかりません。$\r$\n\
sesshu の画面の表示に必要です。システム担当に、WebView2 ランタイム（Evergreen スタンドアロン版）の$\r$\n\
インストールを依頼してください（この端末はインターネットに接続できないため、$\r$\n\
ダウンロード型のブートストラップ版は使えません）。" /SD IDOK
!endif
  ${EndIf}

  CreateDirectory "$SMPROGRAMS\${PRODUCT}"
  CreateShortcut "$SMPROGRAMS\${PRODUCT}\${PRODUCT_JA}.lnk" "$INSTDIR\sesshu-desktop.exe"
  CreateShortcut "$DESKTOP\${PRODUCT_JA}.lnk" "$INSTDIR\sesshu-desktop.exe"

  WriteUninstaller "$INSTDIR\uninstall.exe"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayName" "${PRODUCT_JA}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "Publisher" "sesshu"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\sesshu-desktop.exe"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoRepair" 1
SectionEnd

; Removes the program only. Each user's ledger, key file and logs in %LOCALAPPDATA% and the
; ledger key in Credential Manager stay: uninstalling must never destroy records that have not
; reached the hub.
Section "Uninstall"
  SetShellVarContext all
  Delete "$DESKTOP\${PRODUCT_JA}.lnk"
  Delete "$SMPROGRAMS\${PRODUCT}\${PRODUCT_JA}.lnk"
  RMDir "$SMPROGRAMS\${PRODUCT}"
  Delete "$INSTDIR\sesshu-desktop.exe"
  Delete "$INSTDIR\WebView2Loader.dll"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKLM "${UNINSTALL_KEY}"
SectionEnd
