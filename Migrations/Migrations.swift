/// The store's schema migrations, embedded in the binary so tern works wherever it is copied.
///
/// Each entry is one numbered file in `Migrations/sql`. Migrations are append-only:
/// add a file and a line here, never edit a shipped one.
public enum SchemaMigrations {
    public struct Migration: Sendable {
        public let identifier: String
        public let sql: String
    }

    public static let all: [Migration] = [
        Migration(identifier: "0001_initial", sql: String(decoding: PackageResources._001_initial_sql, as: UTF8.self)),
        Migration(identifier: "0002_contacts", sql: String(decoding: PackageResources._002_contacts_sql, as: UTF8.self)),
        Migration(identifier: "0003_details", sql: String(decoding: PackageResources._003_details_sql, as: UTF8.self)),
        Migration(identifier: "0004_caps_ver", sql: String(decoding: PackageResources._004_caps_ver_sql, as: UTF8.self)),
        Migration(identifier: "0005_stream_management", sql: String(decoding: PackageResources._005_stream_management_sql, as: UTF8.self)),
        Migration(identifier: "0006_archive", sql: String(decoding: PackageResources._006_archive_sql, as: UTF8.self)),
        Migration(identifier: "0007_rooms", sql: String(decoding: PackageResources._007_rooms_sql, as: UTF8.self)),
        Migration(identifier: "0008_bookmark_extensions", sql: String(decoding: PackageResources._008_bookmark_extensions_sql, as: UTF8.self)),
        Migration(identifier: "0009_caps_own_answers", sql: String(decoding: PackageResources._009_caps_own_answers_sql, as: UTF8.self)),
        Migration(identifier: "0010_ingest_at_volume", sql: String(decoding: PackageResources._010_ingest_at_volume_sql, as: UTF8.self)),
        Migration(identifier: "0011_search_prefixes", sql: String(decoding: PackageResources._011_search_prefixes_sql, as: UTF8.self)),
        Migration(identifier: "0012_message_edits", sql: String(decoding: PackageResources._012_message_edits_sql, as: UTF8.self)),
        Migration(identifier: "0013_room_edit_senders", sql: String(decoding: PackageResources._013_room_edit_senders_sql, as: UTF8.self)),
        Migration(identifier: "0014_outbox_edit_undo", sql: String(decoding: PackageResources._014_outbox_edit_undo_sql, as: UTF8.self)),
        Migration(identifier: "0015_search_filters", sql: String(decoding: PackageResources._015_search_filters_sql, as: UTF8.self)),
        Migration(identifier: "0016_intents", sql: String(decoding: PackageResources._016_intents_sql, as: UTF8.self)),
        Migration(identifier: "0017_files", sql: String(decoding: PackageResources._017_files_sql, as: UTF8.self)),
        Migration(
            identifier: "0018_file_and_alert_settings",
            sql: String(decoding: PackageResources._018_file_and_alert_settings_sql, as: UTF8.self)),
        Migration(
            identifier: "0019_conversation_view", sql: String(decoding: PackageResources._019_conversation_view_sql, as: UTF8.self)),
    ]
}
