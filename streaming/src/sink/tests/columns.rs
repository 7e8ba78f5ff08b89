//! Spark's checks of the input columns, message for message (§6.1).

use crate::sink::{check_columns, SchemaError, SinkColumns, SparkType};

fn other(name: &str) -> SparkType {
    SparkType::Other(name.to_owned())
}

fn check(columns: &[(&str, SparkType)], topic_option: Option<&str>) -> Result<SinkColumns, String> {
    check_columns(columns, topic_option).map_err(|e| e.to_string())
}

#[test]
fn a_missing_topic_needs_the_topic_option() {
    assert_eq!(
        check(&[("value", SparkType::Binary)], None).unwrap_err(),
        "topic option required when no 'topic' attribute is present. Use the topic option for \
         setting a topic."
    );
    let columns = check(&[("value", SparkType::Binary)], Some("t")).unwrap();
    assert_eq!(columns.topic, None);
}

#[test]
fn a_missing_value_is_required() {
    assert_eq!(
        check(
            &[("topic", SparkType::String), ("key", SparkType::Binary)],
            None
        )
        .unwrap_err(),
        "Required attribute 'value' not found"
    );
    // Names match exactly, as Spark looks attributes up.
    assert_eq!(
        check_columns(
            &[("topic", SparkType::String), ("Value", SparkType::Binary)],
            None
        ),
        Err(SchemaError::MissingValue)
    );
}

#[test]
fn each_column_of_the_wrong_type_gets_sparks_message() {
    let base = |column: (&'static str, SparkType)| {
        let mut columns = vec![("topic", SparkType::String), ("value", SparkType::Binary)];
        columns.retain(|(name, _)| *name != column.0);
        columns.push(column);
        check(&columns, None).unwrap_err()
    };
    assert_eq!(
        base(("topic", SparkType::Binary)),
        "topic attribute unsupported type binary. topic must be a(n) string"
    );
    assert_eq!(
        base(("key", SparkType::Int)),
        "key attribute unsupported type int. key must be a(n) string or binary"
    );
    assert_eq!(
        base(("value", other("double"))),
        "value attribute unsupported type double. value must be a(n) string or binary"
    );
    assert_eq!(
        base(("headers", other("array<struct<key:string,value:string>>"))),
        "headers attribute unsupported type array<struct<key:string,value:string>>. headers must \
         be a(n) array<struct<key:string,value:binary>>"
    );
    assert_eq!(
        base(("partition", other("bigint"))),
        "partition attribute unsupported type bigint. partition must be a(n) int"
    );
    assert_eq!(
        base(("partition", SparkType::String)),
        "partition attribute unsupported type string. partition must be a(n) int"
    );
}

#[test]
fn columns_are_checked_in_sparks_order() {
    // topic, key, value, headers, partition: the first problem is reported.
    let columns = [
        ("partition", other("bigint")),
        ("headers", SparkType::String),
        ("key", other("boolean")),
        ("topic", SparkType::Int),
    ];
    assert!(check(&columns, None)
        .unwrap_err()
        .starts_with("topic attribute"));
    // With the topic option the topic column is neither checked nor used.
    assert!(check(&columns, Some("t"))
        .unwrap_err()
        .starts_with("key attribute"));
    // A bad key is reported before a missing value.
    assert!(check(&columns[..3], Some("t"))
        .unwrap_err()
        .starts_with("key attribute"));
    let columns = [
        ("partition", other("bigint")),
        ("headers", SparkType::String),
        ("value", SparkType::String),
    ];
    assert!(check(&columns, Some("t"))
        .unwrap_err()
        .starts_with("headers attribute"));
}

#[test]
fn accepted_columns_are_found_by_position_and_others_ignored() {
    let columns = [
        ("offset", other("bigint")),
        ("value", SparkType::String),
        ("topic", SparkType::String),
        ("headers", SparkType::Headers),
        ("key", SparkType::String),
        ("partition", SparkType::Int),
        ("value", other("bigint")),
    ];
    let found = check_columns(&columns, None).unwrap();
    assert_eq!(
        (
            found.topic,
            found.key,
            found.value,
            found.headers,
            found.partition
        ),
        (Some(2), Some(4), 1, Some(3), Some(5)),
        "the first column of a name wins"
    );
    let found = check_columns(
        &[("value", SparkType::Binary), ("topic", SparkType::String)],
        None,
    )
    .unwrap();
    assert_eq!(
        (found.key, found.headers, found.partition),
        (None, None, None)
    );
}
