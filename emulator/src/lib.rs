//! A local Salesforce emulator.
